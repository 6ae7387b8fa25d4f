#include "pipes/fd.hpp"

#include <fcntl.h>
#include <sys/socket.h>

#include <cerrno>

#include "syscalls.hpp"

namespace pipes {

fd& fd::operator=(fd&& other) noexcept {
  if (this != &other) {
    std::error_code ignored;
    close(ignored);
    raw_ = other.release();
  }
  return *this;
}

fd::~fd() {
  std::error_code ignored;
  close(ignored);
}

int fd::release() noexcept {
  const int raw = raw_;
  raw_ = -1;
  return raw;
}

void fd::close() {
  std::error_code ec;
  close(ec);
  if (ec) throw std::system_error(ec, "close");
}

void fd::close(std::error_code& ec) noexcept {
  ec.clear();
  if (raw_ < 0) return;
  const int raw = release();
  if (syscalls().close(raw) != 0 && errno != EINTR) ec.assign(errno, std::system_category());
}

std::size_t fd::read(std::span<std::byte> buffer, std::error_code& ec) const noexcept {
  ec.clear();
  for (;;) {
    const ssize_t n = syscalls().read(raw_, buffer.data(), buffer.size());
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno != EINTR) {
      ec.assign(errno, std::system_category());
      return 0;
    }
  }
}

std::size_t fd::read(std::span<std::byte> buffer) const {
  std::error_code ec;
  const std::size_t n = read(buffer, ec);
  if (ec) throw std::system_error(ec, "read");
  return n;
}

std::size_t fd::write(std::span<const std::byte> data, std::error_code& ec) const noexcept {
  ec.clear();
  for (;;) {
    const ssize_t n = syscalls().write(raw_, data.data(), data.size());
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno != EINTR) {
      ec.assign(errno, std::system_category());
      return 0;
    }
  }
}

std::size_t fd::write(std::span<const std::byte> data) const {
  std::error_code ec;
  const std::size_t n = write(data, ec);
  if (ec) throw std::system_error(ec, "write");
  return n;
}

void write_all(const fd& out, std::span<const std::byte> data, std::error_code& ec) noexcept {
  ec.clear();
  while (!data.empty()) {
    const std::size_t n = out.write(data, ec);
    if (ec) return;
    data = data.subspan(n);
  }
}

void write_all(const fd& out, std::span<const std::byte> data) {
  std::error_code ec;
  write_all(out, data, ec);
  if (ec) throw std::system_error(ec, "write");
}

std::size_t read_full(const fd& in, std::span<std::byte> buffer, std::error_code& ec) noexcept {
  ec.clear();
  std::size_t done = 0;
  while (done < buffer.size()) {
    const std::size_t n = in.read(buffer.subspan(done), ec);
    if (ec || n == 0) break;
    done += n;
  }
  return done;
}

std::size_t read_full(const fd& in, std::span<std::byte> buffer) {
  std::error_code ec;
  const std::size_t n = read_full(in, buffer, ec);
  if (ec) throw std::system_error(ec, "read");
  return n;
}

pipe_fds open_pipe() {
  int raw[2];
  if (syscalls().pipe2(raw, O_CLOEXEC) != 0) {
    throw std::system_error(errno, std::system_category(), "pipe2");
  }
  return {fd(raw[0]), fd(raw[1])};
}

std::pair<fd, fd> open_socketpair(int type) {
  int raw[2];
  if (::socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, raw) != 0) {
    throw std::system_error(errno, std::system_category(), "socketpair");
  }
  return {fd(raw[0]), fd(raw[1])};
}

fd duplicate(const fd& original) {
  const int raw = syscalls().fcntl(original.get(), F_DUPFD_CLOEXEC, 0);
  if (raw < 0) throw std::system_error(errno, std::system_category(), "dup");
  return fd(raw);
}

}  // namespace pipes
