// boost_mq's worker pool: one boost::interprocess::message_queue, of the pair's geometry
// (boost_mq.hpp), that every worker reads from (fanout) or writes to (fanin). Messages longer
// than a slot are chunked as the pair chunks them; the workers then take turns on the queue, a
// process-shared mutex held across one message's chunks, so that no message is split between
// readers or interleaved between writers (fan_shared_queue.cpp explains the choice).
#include <boost/version.hpp>
#include <string>

#include "baselines/fan_transports.hpp"
#include "boost_mq.hpp"
#include "fan_shared_queue.hpp"

namespace baselines {

std::unique_ptr<FanTransport> make_boost_mq_fan(const FanParams& params) {
  return make_shared_queue_fan(
      params, make_boost_mq_queue(boost_mq_slots, boost_mq_slot_size),
      "boost::interprocess::message_queue (Boost " + std::to_string(BOOST_VERSION / 100000) + "." +
          std::to_string(BOOST_VERSION / 100 % 1000) + "), " + std::to_string(boost_mq_slots) +
          " slots x " + std::to_string(boost_mq_slot_size >> 10) +
          " KiB as the pair's; try_send/try_receive, then timed waits on its process-shared "
          "condition variables; shm name removed at creation, mapping inherited across fork");
}

}  // namespace baselines
