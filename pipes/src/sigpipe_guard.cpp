#include "sigpipe_guard.hpp"

#include <pthread.h>

#include <cerrno>
#include <ctime>

namespace pipes::detail {
namespace {

sigset_t sigpipe_set() noexcept {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  return set;
}

}  // namespace

bool sigpipe_ignored() noexcept {
  struct sigaction current {};
  return ::sigaction(SIGPIPE, nullptr, &current) == 0 && !(current.sa_flags & SA_SIGINFO) &&
         current.sa_handler == SIG_IGN;
}

sigpipe_guard::sigpipe_guard(bool active) noexcept : active_(active) {
  if (!active_) return;
  const sigset_t pipe_only = sigpipe_set();
  sigset_t old;
  pthread_sigmask(SIG_BLOCK, &pipe_only, &old);
  was_blocked_ = sigismember(&old, SIGPIPE) == 1;
  if (was_blocked_) {
    // Rare: the application blocks SIGPIPE itself. A SIGPIPE already pending then belongs to it.
    sigset_t pending;
    was_pending_ = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1;
  }
}

sigpipe_guard::~sigpipe_guard() {
  if (!active_) return;
  const sigset_t pipe_only = sigpipe_set();
  if (epipe_ && !was_pending_) {
    // The kernel raised SIGPIPE for this thread before the write returned EPIPE, so it is pending
    // now; a zero timeout never blocks if it is somehow not.
    const int saved_errno = errno;
    const timespec zero{};
    while (sigtimedwait(&pipe_only, nullptr, &zero) < 0 && errno == EINTR) {
    }
    errno = saved_errno;
  }
  if (!was_blocked_) pthread_sigmask(SIG_UNBLOCK, &pipe_only, nullptr);
}

}  // namespace pipes::detail
