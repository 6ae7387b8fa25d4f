// A move-only owner of a file descriptor, the read/write loops everything else is built on, and
// the kernel objects made of descriptors (a pipe's two ends, a socket pair). Throwing calls raise
// std::system_error; the loops each have a noexcept twin taking std::error_code&.
#pragma once

#include <cstddef>
#include <span>
#include <system_error>
#include <utility>

namespace pipes {

class fd {
 public:
  fd() noexcept = default;
  // Takes ownership of `raw` (which may be -1 for "none").
  explicit fd(int raw) noexcept : raw_(raw) {}
  fd(fd&& other) noexcept : raw_(other.release()) {}
  // Closes the current descriptor silently, as the destructor does.
  fd& operator=(fd&& other) noexcept;
  fd(const fd&) = delete;
  fd& operator=(const fd&) = delete;
  // Never throws; a failing close is ignored (the descriptor is gone either way on Linux).
  ~fd();

  int get() const noexcept { return raw_; }
  explicit operator bool() const noexcept { return raw_ >= 0; }
  // Gives up ownership and returns the descriptor.
  int release() noexcept;

  // Closes the descriptor. Not retried on EINTR: on Linux the descriptor is released even then,
  // and retrying could close a descriptor another thread has just been given.
  void close();
  void close(std::error_code& ec) noexcept;

  // One read(2), retried on EINTR. Returns the bytes read; 0 means end of file.
  std::size_t read(std::span<std::byte> buffer) const;
  std::size_t read(std::span<std::byte> buffer, std::error_code& ec) const noexcept;

  // One write(2), retried on EINTR. Returns the bytes written (possibly fewer than asked).
  std::size_t write(std::span<const std::byte> data) const;
  std::size_t write(std::span<const std::byte> data, std::error_code& ec) const noexcept;

 private:
  int raw_ = -1;
};

// Writes all of `data`, looping over short writes. EPIPE is reported as an error, never SIGPIPE,
// provided the caller ignores SIGPIPE or uses pipes' connection (which does).
void write_all(const fd& out, std::span<const std::byte> data);
void write_all(const fd& out, std::span<const std::byte> data, std::error_code& ec) noexcept;

// Reads until `buffer` is full or end of file. Returns the bytes read: less than
// `buffer.size()` only at end of file.
std::size_t read_full(const fd& in, std::span<std::byte> buffer);
std::size_t read_full(const fd& in, std::span<std::byte> buffer, std::error_code& ec) noexcept;

// The two ends of one new kernel pipe (pipe2 with O_CLOEXEC), at the kernel's default capacity:
// the bare descriptors under make_pipe(), for code that frames its own bytes.
struct pipe_fds {
  fd read_end;
  fd write_end;
};
pipe_fds open_pipe();

// Two connected AF_UNIX sockets (socketpair with SOCK_CLOEXEC) of `type`: SOCK_STREAM,
// SOCK_SEQPACKET or SOCK_DGRAM.
std::pair<fd, fd> open_socketpair(int type);

// A second descriptor for the same open file (F_DUPFD_CLOEXEC).
fd duplicate(const fd& original);

}  // namespace pipes
