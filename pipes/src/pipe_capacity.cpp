#include "pipe_capacity.hpp"

#include <fcntl.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <climits>

#include "pipes/options.hpp"
#include "syscalls.hpp"

namespace pipes::detail {

std::size_t system_pipe_max_size() noexcept {
  const int fd = syscalls().open("/proc/sys/fs/pipe-max-size", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return kernel_default_pipe_max_size;
  char text[32];
  ssize_t n;
  do {
    n = syscalls().read(fd, text, sizeof text);
  } while (n < 0 && errno == EINTR);
  syscalls().close(fd);
  std::size_t value = 0;
  if (n <= 0 || std::from_chars(text, text + n, value).ec != std::errc{} || value == 0) {
    return kernel_default_pipe_max_size;
  }
  return value;
}

std::size_t pipe_size(int fd) noexcept {
  const int size = syscalls().fcntl(fd, F_GETPIPE_SZ, 0);
  return size > 0 ? static_cast<std::size_t>(size) : 0;
}

std::size_t grow_pipe(int fd, std::size_t requested) noexcept {
  const std::size_t current = pipe_size(fd);
  if (current == 0 || requested == 0) return current;
  std::size_t want = requested == system_max_capacity ? system_pipe_max_size() : requested;
  want = std::min<std::size_t>(want, INT_MAX);  // fcntl takes an int
  while (want > current) {
    if (syscalls().fcntl(fd, F_SETPIPE_SZ, static_cast<int>(want)) >= 0) break;
    if (errno == EINTR) continue;
    if (errno != EPERM && errno != ENOMEM) break;  // EBUSY, EINVAL: keep what we have
    want /= 2;
  }
  return pipe_size(fd);
}

}  // namespace pipes::detail
