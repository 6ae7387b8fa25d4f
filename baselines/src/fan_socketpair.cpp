// socketpair as a worker pool: one AF_UNIX stream pair per worker at default buffer sizes,
// framed as Python frames; the hub poll()s them all (fan_connections.hpp).
#include <sys/socket.h>

#include "baselines/fan_transports.hpp"
#include "baselines/python_framed_stream.hpp"
#include "fan_connections.hpp"

namespace baselines {

std::unique_ptr<FanTransport> make_socketpair_fan(const FanParams& params) {
  return make_stream_per_worker_fan(
      params, {.make =
                   [](bool) {
                     auto [hub, worker] = pipes::open_socketpair(SOCK_STREAM);
                     return stream_ends{std::move(hub), std::move(worker)};
                   },
               .open =
                   [](pipes::fd end, bool) {
                     const int polled = end.get();
                     pipes::fd copy = pipes::duplicate(end);
                     return worker_connection{
                         make_python_framed_stream(std::move(end), std::move(copy)), polled, {}};
                   },
               .describe =
                   [](const pipes::fd&) {
                     return std::string(
                         "socketpair(AF_UNIX, SOCK_STREAM) at default buffer sizes, Python "
                         "framing");
                   }});
}

}  // namespace baselines
