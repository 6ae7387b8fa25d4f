// Sizing kernel pipes: F_SETPIPE_SZ with a fallback that never fails, and F_GETPIPE_SZ.
#pragma once

#include <cstddef>

namespace pipes::detail {

// The kernel's default pipe size, and pipe-max-size's default (used when /proc cannot be read).
inline constexpr std::size_t kernel_default_pipe_size = 64 * 1024;
inline constexpr std::size_t kernel_default_pipe_max_size = 1024 * 1024;

// /proc/sys/fs/pipe-max-size, or its kernel default when that cannot be read.
std::size_t system_pipe_max_size() noexcept;

// The size of the pipe behind `fd` (F_GETPIPE_SZ), or 0 when `fd` is not a pipe.
std::size_t pipe_size(int fd) noexcept;

// Grows the pipe behind `fd` toward `requested` bytes (system_max_capacity: pipe-max-size; 0:
// leave it). A refusal (EPERM over pipe-max-size or the per-user soft limit, ENOMEM) halves the
// request until the kernel accepts it or it is no larger than the pipe already is. Never shrinks,
// never fails. Returns the size read back, or 0 when `fd` is not a pipe.
std::size_t grow_pipe(int fd, std::size_t requested) noexcept;

}  // namespace pipes::detail
