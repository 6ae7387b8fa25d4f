// Waiting for a descriptor to become ready, with an optional busy-poll window first.
#pragma once

#include <poll.h>

#include <cerrno>
#include <chrono>
#include <system_error>

namespace pipes::detail {

// A timeout that never expires.
inline constexpr std::chrono::nanoseconds forever = std::chrono::nanoseconds::max();

inline std::error_code last_os_error() noexcept { return {errno, std::system_category()}; }

// Waits until `fd` reports one of `events` (or an error or hang-up, which the next call on it will
// report). Polls with a zero timeout for up to `spin` before sleeping. Returns false when
// `timeout` passes first (a negative timeout is zero; `forever` never passes). EINTR is retried
// with the remaining time.
bool wait_ready(int fd, short events, std::chrono::nanoseconds timeout,
                std::chrono::nanoseconds spin, std::error_code& ec) noexcept;

// Busy-polls `fd` for `events` for at most `spin`. Returns true as soon as it is ready.
bool spin_ready(int fd, short events, std::chrono::nanoseconds spin) noexcept;

}  // namespace pipes::detail
