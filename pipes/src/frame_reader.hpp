// The receiving half of a connection: finds frames in the byte stream. With read-ahead, one
// read() fills a buffer with many small frames; a large payload is read straight into its
// destination, and the next header comes along in the same readv().
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <span>
#include <system_error>

#include "pipes/fd.hpp"
#include "pipes/options.hpp"

namespace pipes::detail {

class frame_reader {
 public:
  frame_reader(fd in, const options& opts, bool guard_sigpipe);

  int native() const noexcept { return in_.get(); }
  // The size of the pipe read from, as its writer left it.
  std::size_t capacity() const noexcept { return capacity_; }

  // Waits until the next message's header is complete and sets `size` to its payload size. The
  // header is then consumed: the message stays pending until read_payload() or move_payload(),
  // and further calls report the same size. `timeout` bounds the wait for the header only.
  // Returns false on timeout (ec clear); true otherwise, with ec set on failure.
  bool next_message(std::chrono::nanoseconds timeout, std::size_t& size,
                    std::error_code& ec) noexcept;
  // Reads the pending payload into `dest`, whose size must be the pending size.
  void read_payload(std::span<std::byte> dest, std::error_code& ec) noexcept;
  // Writes the pending payload to `out_fd`: splice for regular files and block devices, a copy
  // for anything else (see the .cpp for why).
  void move_payload(int out_fd, std::error_code& ec) noexcept;

  // True when a receive would not block for the start of a message (or would report EOF).
  bool poll(std::chrono::nanoseconds timeout, std::error_code& ec) noexcept;
  // True while bytes of the stream live only in this object (release() would lose them).
  bool holds_unread() const noexcept { return pending_ || begin_ != end_; }

  fd release() noexcept { return std::move(in_); }
  void close(std::error_code& ec) noexcept { in_.close(ec); }

 private:
  std::span<const std::byte> buffered() const noexcept {
    return {buffer_.get() + begin_, end_ - begin_};
  }
  std::size_t fill(std::size_t at_most, std::error_code& ec) noexcept;
  std::size_t read_some(std::byte* to, std::size_t size, std::byte* spill, std::size_t spill_size,
                        std::error_code& ec) noexcept;
  void fail(std::error_code error, std::error_code& ec) noexcept {
    broken_ = error;
    ec = error;
  }
  void drain(std::size_t size, std::error_code& ec) noexcept;

  fd in_;
  std::size_t capacity_;
  std::size_t max_message_size_;
  bool read_ahead_;
  bool guard_sigpipe_;
  std::chrono::nanoseconds spin_;
  std::unique_ptr<std::byte[]> buffer_;
  std::size_t begin_ = 0;  // unread bytes are buffer_[begin_, end_)
  std::size_t end_ = 0;
  bool pending_ = false;  // a header was consumed; its payload is next in the stream
  std::size_t pending_size_ = 0;
  // Read only the header's bytes when the buffer runs dry: set after a large payload, so that
  // the next large payload is not pulled through the buffer (a second copy).
  bool exact_headers_;
  std::error_code broken_;  // sticky: the stream is out of step
};

}  // namespace pipes::detail
