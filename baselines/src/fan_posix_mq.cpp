// posix_mq's worker pool: one POSIX message queue, of the pair's geometry (posix_mq.hpp: what an
// unprivileged user gets, msgsize_max 8 KiB by default), that every worker reads from (fanout)
// or writes to (fanin). Messages longer than a queue message are chunked as the pair chunks
// them; the workers then take turns on the queue, a process-shared mutex held across one
// message's chunks, so that no message is split between readers or interleaved between writers
// (fan_shared_queue.cpp explains the choice). The kernel would not let the queue's message size
// grow to the message's, so chunking is the only way to carry large messages at all.
#include <string>

#include "baselines/fan_transports.hpp"
#include "fan_shared_queue.hpp"
#include "posix_mq.hpp"

namespace baselines {

std::unique_ptr<FanTransport> make_posix_mq_fan(const FanParams& params) {
  const posix_mq_geometry g = choose_posix_mq_geometry();
  return make_shared_queue_fan(
      params, make_posix_mq_queue(g),
      "POSIX mq of " + std::to_string(g.max_messages) + " x " + std::to_string(g.message_size) +
          " B as the pair's (fs.mqueue.msg_max " + std::to_string(g.system_msg_max) +
          ", msgsize_max " + std::to_string(g.system_msgsize_max) + ", RLIMIT_MSGQUEUE " +
          (g.rlimit_bytes < 0 ? std::string("unlimited") : std::to_string(g.rlimit_bytes)) +
          " B, not raised); blocking mq_timedsend/mq_timedreceive; unlinked at creation, the "
          "descriptor inherited across fork");
}

}  // namespace baselines
