// Keeps SIGPIPE from killing the process when pipes writes to a pipe whose reader has gone.
//
// A write to a pipe without readers fails with EPIPE *and* raises SIGPIPE, whose default action
// ends the process. pipes cannot change the process-wide disposition behind the application's
// back, so around each send it blocks SIGPIPE in the calling thread only; after an EPIPE it takes
// the SIGPIPE that write raised off the thread's pending set with a zero-timeout sigtimedwait,
// then unblocks. If the process already ignores SIGPIPE when the connection is built (Python
// does, so do most servers) the guard is skipped: that saves two system calls per send.
#pragma once

#include <signal.h>

namespace pipes::detail {

// True when SIGPIPE's disposition is SIG_IGN.
bool sigpipe_ignored() noexcept;

class sigpipe_guard {
 public:
  // Blocks SIGPIPE in the calling thread when `active`.
  explicit sigpipe_guard(bool active) noexcept;
  // Takes back the SIGPIPE our EPIPE raised (if saw_epipe() was called) and restores the mask.
  ~sigpipe_guard();
  sigpipe_guard(const sigpipe_guard&) = delete;
  sigpipe_guard& operator=(const sigpipe_guard&) = delete;

  // Call after a write in this scope failed with EPIPE.
  void saw_epipe() noexcept { epipe_ = true; }

 private:
  bool active_;
  bool epipe_ = false;
  bool was_blocked_ = false;  // the thread already blocked SIGPIPE: leave its mask alone
  bool was_pending_ = false;  // ... and one was pending before us: it is not ours to take
};

}  // namespace pipes::detail
