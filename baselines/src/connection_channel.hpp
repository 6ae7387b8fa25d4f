// The `pipes` library behind the channel concept: a Channel over one pipes::Connection, and the
// one account of a pipes configuration. Shared by the pair transports (tuned_pipe.cpp) and the
// worker pool (fan_tuned_pipe.cpp).
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <utility>

#include "baselines/channel.hpp"
#include "pipes/connection.hpp"

namespace baselines {

class connection_channel : public Channel {
 public:
  explicit connection_channel(pipes::Connection connection) : connection_(std::move(connection)) {}

  void send(std::span<const std::byte> message) override { connection_.send_bytes(message); }

  std::span<const std::byte> receive(std::span<std::byte> scratch) override {
    return scratch.first(connection_.recv_bytes_into(scratch));
  }

  const pipes::Connection& connection() const noexcept { return connection_; }

 protected:
  pipes::Connection connection_;
};

// Every lever of `o` as set, and the pipe capacity actually got.
std::string pipes_description(const pipes::options& o, std::size_t capacity);

}  // namespace baselines
