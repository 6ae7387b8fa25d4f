#include "socket_io.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <system_error>

namespace baselines {

bool send_all(const pipes::fd& socket, std::span<const std::byte> bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(socket.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n > 0) {
      bytes = bytes.subspan(static_cast<std::size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) {
      return false;
    } else {
      throw std::system_error(errno, std::system_category(), "send");
    }
  }
  return true;
}

}  // namespace baselines
