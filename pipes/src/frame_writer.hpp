// The sending half of a connection: frames messages and gets them into the pipe with as few
// system calls and copies as the options allow (writev gathering, vmsplice from a staging ring,
// splice from files).
#pragma once

#include <sys/uio.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <span>
#include <system_error>
#include <vector>

#include "gather_buffer.hpp"
#include "large_loans.hpp"
#include "pipes/fd.hpp"
#include "pipes/options.hpp"
#include "staging_ring.hpp"

namespace pipes::detail {

class sigpipe_guard;

class frame_writer {
 public:
  using parts = std::span<const std::span<const std::byte>>;

  // Takes the write end, clears packet mode (O_DIRECT) and sizes the pipe per `opts`.
  frame_writer(fd out, const options& opts, bool guard_sigpipe);
  ~frame_writer();
  frame_writer(const frame_writer&) = delete;
  frame_writer& operator=(const frame_writer&) = delete;

  int native() const noexcept { return out_.get(); }
  std::size_t capacity() const noexcept { return capacity_; }

  // One message made of the concatenation of `message`.
  void send_message(parts message, std::error_code& ec) noexcept;
  // Each element is one message.
  void send_batch(parts messages, std::error_code& ec) noexcept;
  // Writable memory for a message of up to `size` bytes; a second loan abandons the first.
  std::span<std::byte> loan(std::size_t size, std::error_code& ec) noexcept;
  // Puts the loan's first `ready` bytes into the pipe now, ahead of commit(); fixes the
  // message's length at the loan's size.
  void send_ahead(std::size_t ready, std::error_code& ec) noexcept;
  // Sends the first `used` bytes of the loan as one message (`used` <= the loan's size; after
  // send_ahead, exactly the loan's size).
  void commit(std::size_t used, std::error_code& ec) noexcept;
  void commit_all(std::error_code& ec) noexcept { commit(loan_.size, ec); }
  // Sends `length` bytes read from `in_fd` (from its current offset) as one message.
  void send_from_fd(int in_fd, std::size_t length, std::error_code& ec) noexcept;

  // --- bounded sends: nothing below waits past its deadline ---
  using deadline = std::chrono::steady_clock::time_point;
  // Sends one message unless `by` passes first. True when it was accepted whole: whatever the
  // pipe had no room for by then is kept (the tail) and written before anything else this writer
  // sends, or by flush_until. False when nothing of it was accepted (the writer is as before),
  // or on an error (ec). Plain writes only: a bounded send never vmsplices.
  bool send_message_until(parts message, deadline by, std::error_code& ec) noexcept;
  // Writes the kept tail unless `by` passes first; true when none is left.
  bool flush_until(deadline by, std::error_code& ec) noexcept;
  // True when nothing is kept and the pipe has room for a write, before `by`.
  bool writable_until(deadline by, std::error_code& ec) noexcept;

  // Abandons any loan and gives up the descriptor.
  fd release() noexcept;
  bool uses_zero_copy() const noexcept { return zero_copy_; }
  // True while part of a frame is kept here or owed to the pipe (a bounded send's tail, a loan
  // partly sent ahead): release() would cut the frame short.
  bool holds_partial_frame() const noexcept { return !tail_.empty() || loan_.sent > 0; }
  void close(std::error_code& ec) noexcept;

 private:
  struct loan_state {
    std::byte* data = nullptr;  // payload; the header goes right before it
    std::size_t size = 0;
    std::uint64_t ticket = 0;  // nonzero: the memory is in the ring
    bool large = false;        // the memory is one of large_loans_'s
    std::size_t length = 0;    // the message's length once its header is written
    std::size_t sent = 0;      // bytes of the frame (header first) already in the pipe
  };
  struct aligned_delete {
    void operator()(std::byte* p) const noexcept {
      ::operator delete[](p, std::align_val_t{staging_ring::alignment});
    }
  };

  bool usable(std::size_t size, std::error_code& ec) const noexcept;
  void finish(std::uint64_t stream_at_start, sigpipe_guard& guard, std::error_code& ec) noexcept;
  bool zero_copy_for(std::size_t size) const noexcept {
    return zero_copy_ && size >= zero_copy_threshold_;
  }
  // Whether the staging ring may grow to guarantee reservations of `largest` bytes.
  bool ring_can_hold(std::size_t largest) const noexcept;
  staging_ring* ring(std::size_t largest) noexcept;
  void drop_loan() noexcept;
  bool start_loan_frame(std::size_t length, std::error_code& ec) noexcept;
  void send_loan_frame(std::size_t end, std::error_code& ec) noexcept;

  void append(parts message, std::size_t total, std::error_code& ec) noexcept;
  void append_rest(parts message, std::size_t part, std::size_t offset,
                   std::error_code& ec) noexcept;
  void flush(std::error_code& ec) noexcept;
  void send_python_style(parts message, std::size_t total, std::error_code& ec) noexcept;
  void send_staged(parts message, std::size_t total, bool with_header,
                   std::error_code& ec) noexcept;
  void splice_region(const std::byte* data, std::size_t size, std::error_code& ec) noexcept;
  void write_iov(iovec* iov, int count, std::error_code& ec) noexcept;
  void write_bytes(const std::byte* data, std::size_t size, std::error_code& ec) noexcept;
  bool wait_writable(std::error_code& ec) noexcept;
  bool begin_send(std::size_t size, std::error_code& ec) noexcept;
  std::size_t write_now(iovec* iov, int count, std::error_code& ec) noexcept;

  fd out_;
  std::size_t capacity_ = 0;
  std::size_t max_message_size_;
  std::size_t zero_copy_threshold_;
  bool gather_writes_;
  bool guard_sigpipe_;
  bool zero_copy_;  // turned off for good when vmsplice is refused
  // Busy-polls for room this long before sleeping in vmsplice on a full pipe (options::spin).
  std::chrono::nanoseconds spin_;
  // Bytes this writer has put into the pipe: the staging ring's clock.
  std::uint64_t stream_bytes_ = 0;
  std::error_code broken_;  // sticky: the stream stopped in the middle of a frame
  gather_buffer gather_;
  std::unique_ptr<staging_ring> ring_;
  large_loans large_loans_;
  std::unique_ptr<std::byte[], aligned_delete> heap_loan_;
  std::size_t heap_loan_size_ = 0;
  loan_state loan_;
  // The part of a frame a bounded send accepted but the pipe had no room for: written first by
  // every later send, so the frame is always finished.
  std::vector<std::byte> tail_;
  bool nowait_refused_ = false;  // pwritev2(RWF_NOWAIT) unsupported: poll, then PIPE_BUF writes
};

}  // namespace pipes::detail
