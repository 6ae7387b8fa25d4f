// Memory for loans too big for the staging ring: page-aligned mappings that the writer
// vmsplice()s from directly, so a loan of tens of MiB costs no copy either.
//
// The ring's rule holds here too (staging_ring.hpp): a mapping is handed out again only once at
// least a pipe's capacity of bytes has entered the pipe behind the last byte spliced from it.
// Two mappings are used in turn: a loan this big is many times the pipe, so by the time the next
// loan is committed, the one before it has left the pipe and its mapping is free again.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace pipes::detail {

class large_loans {
 public:
  large_loans() = default;
  ~large_loans();
  large_loans(const large_loans&) = delete;
  large_loans& operator=(const large_loans&) = delete;

  // Memory of at least `size` bytes none of which can still be in a pipe of `pipe_capacity`
  // bytes once `stream_bytes` bytes have been written to it; empty when both mappings may still
  // be in the pipe or mmap fails. The memory stays taken until published() or returned().
  std::span<std::byte> take(std::size_t size, std::uint64_t stream_bytes,
                            std::size_t pipe_capacity) noexcept;
  // Bytes of the taken memory entered the pipe; the last when the stream clock read `stream_end`.
  void published(std::uint64_t stream_end) noexcept;
  // Nothing of the taken memory was spliced: it is free again as it was before take().
  void returned() noexcept;
  // Unmaps the mappings larger than `keep` bytes that nothing has taken (the pipe keeps its own
  // references to pages still in it).
  void trim(std::size_t keep) noexcept;

 private:
  struct mapping {
    std::byte* data = nullptr;
    std::size_t size = 0;
    std::uint64_t stream_end = 0;  // the stream clock when its last spliced byte entered the pipe
    bool spliced = false;          // stream_end means something
  };
  bool free_at(const mapping& m, std::uint64_t stream_bytes, std::size_t capacity) const noexcept {
    return !m.spliced || m.stream_end + capacity <= stream_bytes;
  }
  static void unmap(mapping& m) noexcept;

  std::array<mapping, 2> mappings_;
  int taken_ = -1;  // index of the mapping a loan holds
};

}  // namespace pipes::detail
