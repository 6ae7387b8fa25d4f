// One side of a transport in a forked child, in the order the harness uses: the Transport is
// made before fork(), each process opens its own side and then drops its Transport copy. Shared
// by the baselines and harness tests.
#pragma once

#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "baselines/channel.hpp"
#include "pipes/fd.hpp"

namespace transport_test {

class forked_peer {
 public:
  using body_fn = std::function<void(baselines::Channel&)>;

  // Forks a child that opens `role` of `transport`, drops its copy of the Transport, tells this
  // process that its side is open (wait_until_open), runs `body` and exits: 0 if `body`
  // returned, else 1 after handing the exception's text to wait(). The child ignores SIGPIPE
  // (a dead reader is an error to report, as in the harness) and dies with this process.
  forked_peer(std::unique_ptr<baselines::Transport>& transport, baselines::Role role,
              const body_fn& body);

  // The common case: the child is the follower; this process opens the leader's side, destroys
  // `transport` and returns the leader's channel.
  static std::pair<std::unique_ptr<baselines::Channel>, forked_peer> start(
      std::unique_ptr<baselines::Transport> transport, const body_fn& body);

  forked_peer(forked_peer&& other) noexcept;
  forked_peer& operator=(forked_peer&&) = delete;
  ~forked_peer();  // kills and reaps a child still running

  // Waits until the child has opened its side; false if it ended first.
  bool wait_until_open();
  // SIGKILL, now (async-signal-safe: a test may call it from another thread).
  void kill() const noexcept;
  // Waits for the child: "" if its body returned, else the exception's text or how it ended
  // ("killed by Killed", "exited with N").
  std::string wait();

 private:
  pid_t pid_ = -1;
  pipes::fd opened_;  // one byte arrives when the child's side is open
  pipes::fd errors_;  // the child's exception text, then end of file
};

// Sends one message of each size in `sizes` (bytes by test_stream's fill) to a forked peer that
// echoes them back, and checks each echo: "" when every message came back intact, else what went
// wrong. The message-sized round trip every transport's own test starts with.
std::string echo_every_size(std::unique_ptr<baselines::Transport> transport,
                            const std::vector<std::size_t>& sizes);

}  // namespace transport_test
