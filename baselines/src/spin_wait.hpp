// How long a transport spins before it sleeps, and spinning on a descriptor.
#pragma once

#include <poll.h>

#include <chrono>

namespace baselines {

// About what one sleep and wake-up costs (measured at ~50 us on a KVM guest): the classic bound
// that never wastes more than twice the optimum.
inline constexpr auto spin_time = std::chrono::microseconds(50);

// Polls `fd` for input without sleeping for up to spin_time; true as soon as it is readable (or
// at end of file or in error, which the read that follows reports). A blocking read follows
// either way, so a false return only means that read may sleep.
inline bool spin_until_readable(int fd) {
  const auto until = std::chrono::steady_clock::now() + spin_time;
  do {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 0) > 0) return true;
  } while (std::chrono::steady_clock::now() < until);
  return false;
}

}  // namespace baselines
