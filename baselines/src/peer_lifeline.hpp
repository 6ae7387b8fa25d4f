// How a side of a transport with no end-of-file of its own (a message queue, shared memory,
// ZeroMQ) learns that the other side has gone: a pair of pipes made before fork(). Each side keeps
// the write end of one pipe, never written to, and the read end of the other. When the peer
// process exits, is killed, or destroys its channel, the kernel closes its write end and the read
// end reports POLLHUP. Once the controller and the other child have dropped their copies (see
// channel.hpp), the peer holds the only write end, so POLLHUP means exactly "the peer is gone".
#pragma once

#include <chrono>

#include "baselines/channel.hpp"
#include "pipes/fd.hpp"

namespace baselines {

// One side's end: its own pipe end that keeps it "alive", and the one that watches the peer.
class lifeline {
 public:
  lifeline() = default;
  lifeline(pipes::fd watch, pipes::fd keep) noexcept
      : watch_(std::move(watch)), keep_(std::move(keep)) {}

  // A descriptor that polls readable (POLLHUP) once the peer is gone, for poll() or zmq_poll().
  int watch_fd() const noexcept { return watch_.get(); }

  // True if the peer is gone; waits at most `timeout` for it to go (zero: just looks).
  bool peer_gone(std::chrono::milliseconds timeout = std::chrono::milliseconds(0)) const;

 private:
  pipes::fd watch_;  // read end of the pipe whose write end the peer holds
  pipes::fd keep_;   // write end of the pipe the peer watches
};

// Made in the controller before fork(); each child takes its role's end in open().
class lifeline_pair {
 public:
  lifeline_pair();

  // Moves that role's end out (call once per role).
  lifeline take(Role role) noexcept;

 private:
  pipes::fd leader_watch_, follower_keep_;  // the follower's death closes follower_keep_
  pipes::fd follower_watch_, leader_keep_;
};

}  // namespace baselines
