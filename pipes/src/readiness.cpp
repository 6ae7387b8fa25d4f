#include "readiness.hpp"

#include <algorithm>
#include <climits>

#include "syscalls.hpp"

namespace pipes::detail {
namespace {

using clock = std::chrono::steady_clock;

// One poll(2) with a millisecond timeout: 1 = ready, 0 = timed out, -1 = error (errno set).
int poll_once(int fd, short events, int timeout_ms) noexcept {
  pollfd entry{fd, events, 0};
  const int n = syscalls().poll(&entry, 1, timeout_ms);
  return n > 0 ? 1 : n;
}

// Rounds up, so that a wait never ends before its timeout.
int to_poll_ms(std::chrono::nanoseconds left) noexcept {
  const auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
  return static_cast<int>(std::clamp<decltype(ms)>(ms, 0, INT_MAX));
}

}  // namespace

bool spin_ready(int fd, short events, std::chrono::nanoseconds spin) noexcept {
  if (spin <= std::chrono::nanoseconds::zero()) return false;
  const auto start = clock::now();
  do {
    if (poll_once(fd, events, 0) == 1) return true;
  } while (clock::now() - start < spin);
  return false;
}

bool wait_ready(int fd, short events, std::chrono::nanoseconds timeout,
                std::chrono::nanoseconds spin, std::error_code& ec) noexcept {
  ec.clear();
  timeout = std::max(timeout, std::chrono::nanoseconds::zero());
  const auto start = clock::now();
  if (spin_ready(fd, events, std::min(spin, timeout))) return true;
  for (;;) {
    // Recomputed from the start each time (no deadline), so that `forever` cannot overflow.
    const auto left =
        timeout - std::chrono::duration_cast<std::chrono::nanoseconds>(clock::now() - start);
    const int timeout_ms = timeout == forever ? -1 : to_poll_ms(left);
    const int n = poll_once(fd, events, timeout_ms);
    if (n == 1) return true;
    if (n < 0 && errno != EINTR) {
      ec = last_os_error();
      return true;
    }
    if (n == 0 && timeout_ms == 0) return false;
    // EINTR, or a wait capped at INT_MAX ms: go round with the time that is left.
  }
}

}  // namespace pipes::detail
