// tuned_pipe as a worker pool: one `pipes` pipe per worker with the library's default options,
// in the direction messages flow; the hub poll()s them all (fan_connections.hpp). Each process
// adopts its ends into Connections of its own, so that buffers and staging rings are allocated
// where they are used.
#include <fcntl.h>

#include <algorithm>

#include "baselines/fan_transports.hpp"
#include "connection_channel.hpp"
#include "fan_connections.hpp"

namespace baselines {

std::unique_ptr<FanTransport> make_tuned_pipe_fan(const FanParams& params) {
  pipes::options options;
  options.max_message_size = std::max(options.max_message_size, params.message_size);
  return make_stream_per_worker_fan(
      params,
      {.make =
           [options](bool fanin) {
             auto [reader, writer] = pipes::make_pipe(options);  // sized by its writer's options
             return ends_of({reader.release().first, writer.release().second}, fanin);
           },
       .open =
           [options](pipes::fd end, bool reads) {
             auto connection = reads ? pipes::Connection(std::move(end), pipes::fd(), options)
                                     : pipes::Connection(pipes::fd(), std::move(end), options);
             const int polled = reads ? connection.read_fd() : connection.write_fd();
             auto channel = std::make_unique<connection_channel>(std::move(connection));
             // A connection that only reads is releasable exactly when it holds no byte read
             // ahead.
             std::function<bool()> holds_unread;
             if (reads)
               holds_unread = [c = channel.get()] { return !c->connection().releasable(); };
             return worker_connection{std::move(channel), polled, std::move(holds_unread)};
           },
       .describe =
           [options](const pipes::fd& end) {
             const int bytes = ::fcntl(end.get(), F_GETPIPE_SZ);
             return pipes_description(options, bytes > 0 ? static_cast<std::size_t>(bytes) : 0);
           }});
}

}  // namespace baselines
