#include "baselines/os_objects.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace baselines {

std::pair<pipes::fd, pipes::fd> os_pipe() {
  int raw[2];
  if (::pipe2(raw, O_CLOEXEC) != 0) throw std::system_error(errno, std::system_category(), "pipe2");
  return {pipes::fd(raw[0]), pipes::fd(raw[1])};
}

std::pair<pipes::fd, pipes::fd> os_socketpair(int type) {
  int raw[2];
  if (::socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, raw) != 0) {
    throw std::system_error(errno, std::system_category(), "socketpair");
  }
  return {pipes::fd(raw[0]), pipes::fd(raw[1])};
}

pipes::fd duplicate(const pipes::fd& original) {
  const int raw = ::fcntl(original.get(), F_DUPFD_CLOEXEC, 0);
  if (raw < 0) throw std::system_error(errno, std::system_category(), "dup");
  return pipes::fd(raw);
}

}  // namespace baselines
