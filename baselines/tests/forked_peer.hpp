// Runs the follower side of a transport in a forked child while the test process plays both the
// controller and the leader, in the order the harness uses: make the Transport, fork, open both
// sides, then drop every Transport copy.
#pragma once

#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>

#include "baselines/channel.hpp"
#include "pipes/fd.hpp"

namespace baselines_test {

class forked_peer {
 public:
  // Forks a child that opens the follower side, drops its Transport copy and runs `body`;
  // then opens the leader side here, destroys `transport` and returns the leader's channel.
  // The child exits 0 if `body` returned, else it reports the exception's text.
  static std::pair<std::unique_ptr<baselines::Channel>, forked_peer> start(
      std::unique_ptr<baselines::Transport> transport,
      std::function<void(baselines::Channel&)> body);

  forked_peer(forked_peer&& other) noexcept;
  forked_peer& operator=(forked_peer&&) = delete;
  ~forked_peer();  // kills and reaps a child still running

  // Waits for the child: "" if its body returned, else its error or how it died.
  std::string wait();

 private:
  forked_peer(pid_t pid, pipes::fd errors) noexcept : pid_(pid), errors_(std::move(errors)) {}

  pid_t pid_ = -1;
  pipes::fd errors_;
};

// Fills `out` with bytes that depend on `seq` and the position.
void fill(std::uint64_t seq, std::span<std::byte> out);

// True if `got` is what fill(seq, ...) makes for got.size() bytes of size `size`.
bool is_message(std::uint64_t seq, std::size_t size, std::span<const std::byte> got);

// Echoes `count` messages: receives each and sends it back.
void echo(baselines::Channel& channel, std::size_t count, std::size_t scratch_bytes);

}  // namespace baselines_test
