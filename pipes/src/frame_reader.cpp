#include "frame_reader.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "pipe_capacity.hpp"
#include "pipes/error.hpp"
#include "pipes/frame.hpp"
#include "readiness.hpp"
#include "sigpipe_guard.hpp"
#include "syscalls.hpp"

namespace pipes::detail {
namespace {

using clock = std::chrono::steady_clock;

// The read-ahead buffer: big enough that a read() per thousand small frames is all it costs,
// small enough to stay in L2 for the copy out.
constexpr std::size_t buffer_size = 64 * 1024;
// A payload remainder at least this large is read straight into the destination: a system
// call costs about as much as copying this many bytes once more.
constexpr std::size_t direct_read_min = 16 * 1024;

// The most one read() of a large payload asks for: a quarter of the pipe. A writer blocked on a
// full pipe is woken only when a read() that found the pipe full returns; a read() of everything
// there would leave the writer asleep until the pipe is empty, and then the reader waits while
// the writer refills it. Reading in quarters wakes the writer while three quarters are still
// left to read, so the two overlap. Not a pipe (0): no limit.
std::size_t read_piece(std::size_t pipe_capacity) noexcept {
  return pipe_capacity == 0 ? SIZE_MAX : std::max<std::size_t>(pipe_capacity / 4, 4096);
}

bool wait_readable(int fd, std::error_code& ec) noexcept {
  // A non-blocking descriptor handed to adopt(): block in poll instead.
  wait_ready(fd, POLLIN, forever, std::chrono::nanoseconds::zero(), ec);
  return !ec;
}

// Splicing a message on is safe only into something that copies it at once. A regular file
// (or block device) copies the pipe's pages into its page cache. A socket or another pipe would
// keep references to them, and those pages may be the peer's vmsplice staging ring, which it
// reuses once the bytes have left *our* pipe (see staging_ring.hpp).
bool copies_on_splice(int fd, std::error_code& ec) noexcept {
  struct stat st {};
  if (syscalls().fstat(fd, &st) != 0) {
    ec = last_os_error();
    return false;
  }
  return S_ISREG(st.st_mode) || S_ISBLK(st.st_mode);
}

void write_out(int fd, const std::byte* data, std::size_t size, std::error_code& ec) noexcept {
  while (size > 0) {
    const ssize_t n = syscalls().write(fd, data, size);
    if (n > 0) {
      data += n;
      size -= static_cast<std::size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && errno == EAGAIN) {
      if (wait_ready(fd, POLLOUT, forever, std::chrono::nanoseconds::zero(), ec); ec) return;
    } else {
      ec = n < 0 ? last_os_error() : std::make_error_code(std::errc::io_error);
      return;
    }
  }
}

}  // namespace

frame_reader::frame_reader(fd in, const options& opts, bool guard_sigpipe)
    : in_(std::move(in)),
      capacity_(pipe_size(in_.get())),
      max_message_size_(opts.max_message_size),
      read_ahead_(opts.read_ahead),
      guard_sigpipe_(guard_sigpipe),
      spin_(opts.spin),
      buffer_(std::make_unique_for_overwrite<std::byte[]>(buffer_size)),
      exact_headers_(!opts.read_ahead) {}

std::size_t frame_reader::read_some(std::byte* to, std::size_t size, std::byte* spill,
                                    std::size_t spill_size, std::error_code& ec) noexcept {
  for (;;) {
    ssize_t n;
    if (spill_size > 0) {
      iovec iov[2] = {{to, size}, {spill, spill_size}};
      n = syscalls().readv(in_.get(), iov, 2);
    } else {
      n = syscalls().read(in_.get(), to, size);
    }
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno == EINTR) continue;
    if (errno != EAGAIN) {
      ec = last_os_error();
      return 0;
    }
    if (!wait_readable(in_.get(), ec)) return 0;
  }
}

std::size_t frame_reader::fill(std::size_t at_most, std::error_code& ec) noexcept {
  if (begin_ == end_) {
    begin_ = end_ = 0;
  } else if (buffer_size - end_ < at_most && begin_ > 0) {
    std::memmove(buffer_.get(), buffer_.get() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  const std::size_t n =
      read_some(buffer_.get() + end_, std::min(at_most, buffer_size - end_), nullptr, 0, ec);
  end_ += n;
  return n;
}

bool frame_reader::next_message(std::chrono::nanoseconds timeout, std::size_t& size,
                                std::error_code& ec) noexcept {
  ec.clear();
  if (!in_) {
    ec = std::make_error_code(std::errc::bad_file_descriptor);
    return true;
  }
  if (broken_) {
    ec = broken_;
    return true;
  }
  if (pending_) {
    size = pending_size_;
    return true;
  }
  timeout = std::max(timeout, std::chrono::nanoseconds::zero());
  const auto start = timeout == forever ? clock::time_point{} : clock::now();
  for (;;) {
    const decoded_header header = decode_frame_header(buffered());
    if (header.state == decoded_header::status::complete) {
      // Checked before anything is sized from it: the header is the peer's word, not ours.
      if (header.payload_size > max_message_size_) {
        fail(make_error_code(errc::message_too_large), ec);
        return true;
      }
      begin_ += header.header_size;
      pending_ = true;
      pending_size_ = size = static_cast<std::size_t>(header.payload_size);
      return true;
    }
    if (header.state == decoded_header::status::malformed) {
      fail(make_error_code(errc::malformed_header), ec);
      return true;
    }
    if (timeout != forever) {
      const auto left =
          timeout - std::chrono::duration_cast<std::chrono::nanoseconds>(clock::now() - start);
      if (!wait_ready(in_.get(), POLLIN, left, spin_, ec)) return false;
      if (ec) return true;
    } else if (begin_ == end_) {
      spin_ready(in_.get(), POLLIN, spin_);  // then block in read() either way
    }
    const std::size_t have = end_ - begin_;
    const std::size_t n = fill(exact_headers_ ? header.header_size - have : buffer_size, ec);
    if (ec) return true;  // nothing consumed: the connection stays usable
    if (n == 0) {
      if (have == 0) {
        ec = make_error_code(errc::peer_closed);
      } else {
        fail(make_error_code(errc::peer_closed_mid_message), ec);
      }
      return true;
    }
  }
}

void frame_reader::read_payload(std::span<std::byte> dest, std::error_code& ec) noexcept {
  ec.clear();
  const std::size_t size = dest.size();
  pending_ = false;
  exact_headers_ = !read_ahead_ || size >= direct_read_min;
  std::size_t done = std::min(size, end_ - begin_);
  if (done > 0) std::memcpy(dest.data(), buffer_.get() + begin_, done);
  begin_ += done;
  if (done == size) return;
  const std::size_t rest = size - done;  // and the buffer is empty
  if (read_ahead_ && rest < direct_read_min) {
    // A small remainder: refill the buffer, which picks up the frames behind it too.
    while (end_ - begin_ < rest) {
      const std::size_t n = fill(buffer_size, ec);
      if (ec) return fail(ec, ec);
      if (n == 0) return fail(make_error_code(errc::peer_closed_mid_message), ec);
    }
    std::memcpy(dest.data() + done, buffer_.get() + begin_, rest);
    begin_ += rest;
    return;
  }
  // A large remainder: straight into the destination, plus the next header if it is there.
  begin_ = end_ = 0;
  const std::size_t piece = read_piece(pipe_size(in_.get()));
  while (done < size) {
    const std::size_t want = std::min(size - done, piece);
    // The last piece picks up the next header too.
    const std::size_t spill = read_ahead_ && want == size - done ? short_header_size : 0;
    spin_ready(in_.get(), POLLIN, spin_);  // with spin set, wait for the writer without sleeping
    const std::size_t n = read_some(dest.data() + done, want, buffer_.get(), spill, ec);
    if (ec) return fail(ec, ec);
    if (n == 0) return fail(make_error_code(errc::peer_closed_mid_message), ec);
    if (n > want) {
      end_ = n - want;
      done = size;
    } else {
      done += n;
    }
  }
}

void frame_reader::drain(std::size_t size, std::error_code& ec) noexcept {
  while (size > 0) {
    const std::size_t n = read_some(buffer_.get(), std::min(size, buffer_size), nullptr, 0, ec);
    if (ec) return fail(ec, ec);
    if (n == 0) return fail(make_error_code(errc::peer_closed_mid_message), ec);
    size -= n;
  }
}

void frame_reader::move_payload(int out_fd, std::error_code& ec) noexcept {
  ec.clear();
  std::error_code out_error;
  const bool splice_ok = copies_on_splice(out_fd, out_error);
  if (out_error) {  // a bad out_fd: nothing consumed, the message stays pending
    ec = out_error;
    return;
  }
  sigpipe_guard guard(guard_sigpipe_);  // out_fd may be a pipe or a socket
  std::size_t left = pending_size_;
  pending_ = false;
  exact_headers_ = !read_ahead_ || left >= direct_read_min;

  const std::size_t buffered_part = std::min(left, end_ - begin_);
  write_out(out_fd, buffer_.get() + begin_, buffered_part, out_error);
  begin_ += buffered_part;
  left -= buffered_part;
  if (begin_ == end_) begin_ = end_ = 0;

  bool use_splice = splice_ok;
  while (left > 0 && !out_error) {
    if (use_splice) {
      const ssize_t n = syscalls().splice(in_.get(), nullptr, out_fd, nullptr, left, 0);
      if (n > 0) {
        left -= static_cast<std::size_t>(n);
      } else if (n == 0) {
        return fail(make_error_code(errc::peer_closed_mid_message), ec);
      } else if (errno == EINTR) {
        continue;
      } else if (errno == EAGAIN) {
        if (wait_readable(in_.get(), ec)) {
          wait_ready(out_fd, POLLOUT, forever, std::chrono::nanoseconds::zero(), out_error);
        }
        if (ec) return fail(ec, ec);
      } else if (errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP) {
        use_splice = false;  // e.g. a file opened with O_APPEND
      } else {
        out_error = last_os_error();  // ENOSPC, EFBIG, EIO...: the output's trouble
      }
      continue;
    }
    // Copy through the (empty) buffer, never reading past this message.
    const std::size_t n = read_some(buffer_.get(), std::min(left, buffer_size), nullptr, 0, ec);
    if (ec) return fail(ec, ec);
    if (n == 0) return fail(make_error_code(errc::peer_closed_mid_message), ec);
    write_out(out_fd, buffer_.get(), n, out_error);
    left -= n;
  }
  if (out_error) {
    if (out_error == std::errc::broken_pipe) guard.saw_epipe();
    // Skip the rest of the message so that the connection stays in step, then report.
    drain(left, ec);
    ec = out_error;
  }
}

bool frame_reader::poll(std::chrono::nanoseconds timeout, std::error_code& ec) noexcept {
  ec.clear();
  if (!in_) {
    ec = std::make_error_code(std::errc::bad_file_descriptor);
    return false;
  }
  if (broken_ || holds_unread()) return true;
  return wait_ready(in_.get(), POLLIN, timeout, spin_, ec) && !ec;
}

}  // namespace pipes::detail
