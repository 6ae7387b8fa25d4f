// naive_pipe as a worker pool: one pipe() per worker at the kernel's default capacity, in the
// direction messages flow, framed as Python frames; the hub poll()s them all (fan_connections.hpp).
#include <fcntl.h>

#include "baselines/fan_transports.hpp"
#include "baselines/python_framed_stream.hpp"
#include "fan_connections.hpp"
#include "size_text.hpp"

namespace baselines {

std::unique_ptr<FanTransport> make_naive_pipe_fan(const FanParams& params) {
  return make_stream_per_worker_fan(
      params,
      {.make = [](bool fanin) { return ends_of(pipes::open_pipe(), fanin); },
       .open =
           [](pipes::fd end, bool reads) {
             const int polled = end.get();
             auto channel = reads ? make_python_framed_stream(std::move(end), pipes::fd())
                                  : make_python_framed_stream(pipes::fd(), std::move(end));
             return worker_connection{std::move(channel), polled, {}};
           },
       .describe =
           [](const pipes::fd& end) {
             const int bytes = ::fcntl(end.get(), F_GETPIPE_SZ);
             const std::string size = bytes > 0 ? size_text(bytes) : "unknown size";
             return "pipe() at the kernel's default capacity (" + size +
                    "), Python framing: one write of header + payload up to 16 KiB, two above";
           }});
}

}  // namespace baselines
