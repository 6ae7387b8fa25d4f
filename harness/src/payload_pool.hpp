// The messages a benchmark sends, and the receiver's check of each one.
//
// Message `seq` is slot `seq % slots()` of a pool of pseudo-random bytes (never a constant
// buffer), with `seq` stamped into its first bytes. For messages of 4 KiB and more the pool is
// several times the last-level cache (pool_bytes_for), so nothing is measured against a
// cache-resident buffer; small messages rotate over 8 MiB, a per-message cost either way. The
// checksum of each slot
// (without its stamp) is computed once, before any clock runs; the receiver then checks a
// message by reading every byte of it once: stamp, size and checksum.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace harness {

class payload_pool {
 public:
  // Bytes of the sequence-number stamp at the start of a message (fewer for shorter messages).
  static constexpr std::size_t stamp_size = sizeof(std::uint64_t);
  // Messages from this size on rotate over a pool of at least `llc_multiple` last-level caches.
  static constexpr std::size_t large_message = 4u << 10;
  static constexpr std::size_t llc_multiple = 4;
  // A pool is never larger than this (L3 caches of 32 MiB to 480 MiB have been seen here).
  static constexpr std::size_t max_bytes = std::size_t{1} << 30;
  // The pool of small messages, and the least any pool spans.
  static constexpr std::size_t small_bytes = 8u << 20;
  static constexpr std::size_t min_slots = 2;
  static constexpr std::size_t max_small_slots = 1024;

  // Bytes the pool for `message_size` spans, given the last-level cache (0 when unknown).
  static std::size_t pool_bytes_for(std::size_t message_size, std::size_t llc_bytes) noexcept;
  // The rule above in words, for the results' context.
  static std::string rule();

  static constexpr std::uint64_t default_seed = 0x9e3779b97f4a7c15ull;

  // A pool of pool_bytes_for(message_size, llc_bytes) (whole slots, at least min_slots).
  explicit payload_pool(std::size_t message_size, std::size_t llc_bytes = 0,
                        std::uint64_t seed = default_seed);

  // What determines a pool's bytes: two pools of one shape hold the same bytes, so a follower on
  // another host (pipebench-peer) rebuilds the leader's pool from its shape alone.
  struct shape_t {
    std::size_t message_size = 0;
    std::size_t slots = 0;
    std::uint64_t seed = default_seed;
  };
  explicit payload_pool(const shape_t& shape);
  shape_t shape() const noexcept { return {message_size_, slots_, seed_}; }

  std::size_t message_size() const noexcept { return message_size_; }
  std::size_t slots() const noexcept { return slots_; }
  std::size_t bytes() const noexcept { return bytes_.size(); }

  // Stamps `seq` into its slot and returns the slot: the bytes of message `seq`.
  std::span<const std::byte> message(std::uint64_t seq) noexcept;

  // Writes bytes [offset, offset + out.size()) of message `seq` into `out`: for senders that
  // build in place, whole or piece by piece.
  void write_message(std::uint64_t seq, std::span<std::byte> out,
                     std::size_t offset = 0) const noexcept;

  // Writes to every slot once, so that copy-on-write faults after fork() happen before a clock
  // runs rather than inside it.
  void prefault() noexcept;

  // True if `received` is exactly message `seq`: its size, its stamp, and every byte past the
  // stamp by checksum.
  bool matches(std::uint64_t seq, std::span<const std::byte> received) const noexcept;

  // The sequence number stamped into `received`, for a receiver that cannot know which message
  // comes next (a worker of a pool, or a hub taking from several); matches() then checks the
  // rest. Empty when `received` is not of this pool's size, or that size is too short for a
  // whole stamp (stamp_size bytes).
  std::optional<std::uint64_t> stamped_sequence(std::span<const std::byte> received) const noexcept;

  // What is wrong with `received` as message `seq` (for the error message once `matches` fails).
  std::string explain_mismatch(std::uint64_t seq, std::span<const std::byte> received) const;

 private:
  std::span<std::byte> slot(std::uint64_t seq) noexcept;
  std::span<const std::byte> slot(std::uint64_t seq) const noexcept;

  std::size_t message_size_;
  std::size_t slots_;
  std::uint64_t seed_;
  // The pool's bytes, in a MAP_SHARED anonymous mapping: children forked by the controller
  // stamp messages into it without copy-on-write copies of a pool that may be a GiB (a private
  // copy cost about half a second per run here), and the controller keeps one per size.
  class shared_bytes {
   public:
    explicit shared_bytes(std::size_t size);
    ~shared_bytes();
    shared_bytes(const shared_bytes&) = delete;
    shared_bytes& operator=(const shared_bytes&) = delete;
    std::byte* data() const noexcept { return data_; }
    std::size_t size() const noexcept { return size_; }

   private:
    std::byte* data_ = nullptr;
    std::size_t size_ = 0;
  };
  shared_bytes bytes_;
  std::vector<std::uint64_t> slot_checksums_;  // of each slot past its stamp
};

// Writes the little-endian stamp of `seq` into the first bytes of `message`.
void stamp(std::span<std::byte> message, std::uint64_t seq) noexcept;

}  // namespace harness
