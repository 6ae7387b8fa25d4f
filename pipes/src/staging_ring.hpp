// Page-aligned memory that the writer vmsplice()s from, and the rule that says when a byte of it
// may be written again.
//
// vmsplice puts references to the ring's pages into the pipe, not copies, so a byte must not be
// rewritten until the reader has copied it out. The writer cannot see the reader; it can only
// count the bytes it has put into the pipe itself (the "stream clock"). The rule: a region is
// reused only after at least `pipe_capacity` more bytes have entered the pipe behind it.
//
// Why that is enough: a pipe is a FIFO of `pipe_capacity / page size` buffers (F_GETPIPE_SZ is
// slots * page size), and what write() and vmsplice() put in a buffer never exceeds a page. If a
// byte of the region were still in the pipe, so would be every byte written after it: at least
// `pipe_capacity` bytes in page-or-smaller buffers behind it, more than the pipe has slots for.
// This needs (1) a single writer, whose clock counts only bytes written or vmspliced (bytes
// spliced from a socket may come in bigger buffers, so they are left out: that only delays
// reuse); (2) a reader that copies out with read(): splice or tee would pass the page references
// on to somewhere that may keep them (pipes' own recv_into_fd splices only into files, which
// copy, and send_from_fd copies from a pipe source instead of splicing it onward); (3) a pipe no
// larger than the ring was sized for (the writer re-reads the capacity before each reservation and
// starts a new ring if the pipe grew; see frame_writer::ring).
//
// The ring is at least twice the pipe capacity: with chunks of at most half a capacity, the bytes
// still possibly in the pipe take at most 1.5 capacities, so a chunk always finds room.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <system_error>
#include <vector>

namespace pipes::detail {

class staging_ring {
 public:
  // Memory handed out by reserve(); `ticket` identifies it to publish() and discard().
  struct reservation {
    std::span<std::byte> bytes;
    std::uint64_t ticket = 0;
    explicit operator bool() const noexcept { return !bytes.empty(); }
  };

  // Reservations start on this boundary (loans hand out cache-line-aligned memory).
  static constexpr std::size_t alignment = 64;

  // The largest chunk the writer should stage at once for a pipe of `pipe_capacity` bytes.
  static std::size_t chunk_limit(std::size_t pipe_capacity) noexcept { return pipe_capacity / 2; }

  // Ring bytes that guarantee room for reservations of up to `largest` bytes (and for chunks of
  // chunk_limit) whatever came before.
  static std::size_t size_for(std::size_t pipe_capacity, std::size_t largest) noexcept;

  // Maps size_for(pipe_capacity, largest) bytes, populated. Sets ec when mmap fails.
  staging_ring(std::size_t pipe_capacity, std::size_t largest, std::error_code& ec) noexcept;
  // Unmapping is safe with pages still in the pipe: the pipe holds its own references.
  ~staging_ring();
  staging_ring(const staging_ring&) = delete;
  staging_ring& operator=(const staging_ring&) = delete;

  std::size_t pipe_capacity() const noexcept { return pipe_capacity_; }
  std::size_t size() const noexcept { return size_; }
  // The reservation size this ring guarantees room for.
  std::size_t largest() const noexcept { return largest_; }

  // Contiguous memory of between `min` and `max` bytes (1 <= min <= max) none of which can still
  // be in the pipe once `stream_bytes` bytes have been written to it; empty when there is none.
  // The memory stays taken, even across later reservations, until publish() or discard().
  reservation reserve(std::size_t min, std::size_t max, std::uint64_t stream_bytes) noexcept;

  // The reservation's last byte entered the pipe when the stream clock read `stream_end`.
  void publish(std::uint64_t ticket, std::uint64_t stream_end) noexcept;

  // Nothing of the reservation was spliced: its memory is free again (at once if it is the
  // latest reservation, else once the older ones have left the pipe).
  void discard(std::uint64_t ticket) noexcept;

 private:
  struct extent {
    std::size_t begin;
    std::size_t end;
    std::uint64_t stream_end;
    std::uint64_t ticket;
  };
  static constexpr std::uint64_t not_spliced = 0;
  static constexpr std::uint64_t in_use = UINT64_MAX;

  void retire(std::uint64_t stream_bytes) noexcept;
  extent& extent_at(std::size_t i) noexcept { return extents_[(first_ + i) % extents_.size()]; }
  bool push(const extent& e) noexcept;

  std::byte* base_ = nullptr;
  std::size_t size_ = 0;
  std::size_t pipe_capacity_ = 0;
  std::size_t largest_ = 0;
  std::size_t head_ = 0;  // where the next reservation starts looking
  std::uint64_t next_ticket_ = 1;
  // Taken regions, oldest first: a FIFO over a vector, so steady state never allocates.
  std::vector<extent> extents_;
  std::size_t first_ = 0;
  std::size_t count_ = 0;
};

}  // namespace pipes::detail
