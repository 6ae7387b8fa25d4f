// Which sequence numbers a worker checked, in three numbers that add up across workers: the sum
// of every worker's digest equals the digest of 0, 1, ..., count - 1 exactly when each of the
// `count` messages was checked once, by some worker (no loss, no duplicate).
// The count alone misses a duplicate that stands in for a loss; so does a sum of the numbers and
// of their squares, for some sets ({0, 3, 3} against {1, 1, 4}). A sum of each number's 64-bit
// mix has no such small collisions: two different sets of the same size collide with a
// probability of about 2^-64. The plain sum names the one message lost (or checked twice) when
// only one is.
#pragma once

#include <cstdint>
#include <string>

namespace harness {

struct sequence_digest {
  std::uint64_t count = 0;
  std::uint64_t sum = 0;        // of the sequence numbers, mod 2^64
  std::uint64_t mixed_sum = 0;  // of each one's 64-bit mix, mod 2^64

  void add(std::uint64_t seq) noexcept;
  sequence_digest& operator+=(const sequence_digest& other) noexcept;
  bool operator==(const sequence_digest&) const = default;

  // The digest of 0, 1, ..., count - 1.
  static sequence_digest of_range(std::uint64_t count) noexcept;
};

// What differs between the digest `got` and the one `want`ed, in words (for a failed run).
std::string explain_difference(const sequence_digest& got, const sequence_digest& want);

}  // namespace harness
