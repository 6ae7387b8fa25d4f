// The messages a benchmark sends, and the receiver's check of each one.
//
// Message `seq` is slot `seq % slots()` of a pool of pseudo-random bytes (never a constant
// buffer), with `seq` stamped into its first bytes. The pool is larger than the L2 cache for
// large messages, so nothing is measured against one hot buffer. The checksum of each slot
// (without its stamp) is computed once, before any clock runs; the receiver then checks a
// message by reading every byte of it once: stamp, size and checksum.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace harness {

class payload_pool {
 public:
  // Bytes of the sequence-number stamp at the start of a message (fewer for shorter messages).
  static constexpr std::size_t stamp_size = sizeof(std::uint64_t);
  // The pool spans about this many bytes (more than any L2 cache), within the slot limits below.
  static constexpr std::size_t target_bytes = 8u << 20;
  static constexpr std::size_t min_slots = 2;
  static constexpr std::size_t max_slots = 1024;

  explicit payload_pool(std::size_t message_size, std::uint64_t seed = 0x9e3779b97f4a7c15ull);

  std::size_t message_size() const noexcept { return message_size_; }
  std::size_t slots() const noexcept { return slots_; }

  // Stamps `seq` into its slot and returns the slot: the bytes of message `seq`.
  std::span<const std::byte> message(std::uint64_t seq) noexcept;

  // Writes message `seq` into `out` (of message_size() bytes): for senders that build in place.
  void write_message(std::uint64_t seq, std::span<std::byte> out) const noexcept;

  // Writes to every slot once, so that copy-on-write faults after fork() happen before a clock
  // runs rather than inside it.
  void prefault() noexcept;

  // True if `received` is exactly message `seq`: its size, its stamp, and every byte past the
  // stamp by checksum.
  bool matches(std::uint64_t seq, std::span<const std::byte> received) const noexcept;

  // What is wrong with `received` as message `seq` (for the error message once `matches` fails).
  std::string explain_mismatch(std::uint64_t seq, std::span<const std::byte> received) const;

 private:
  std::span<std::byte> slot(std::uint64_t seq) noexcept;
  std::span<const std::byte> slot(std::uint64_t seq) const noexcept;

  std::size_t message_size_;
  std::size_t slots_;
  std::vector<std::byte> bytes_;
  std::vector<std::uint64_t> slot_checksums_;  // of each slot past its stamp
};

// Writes the little-endian stamp of `seq` into the first bytes of `message`.
void stamp(std::span<std::byte> message, std::uint64_t seq) noexcept;

}  // namespace harness
