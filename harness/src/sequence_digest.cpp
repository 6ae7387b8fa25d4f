#include "sequence_digest.hpp"

namespace harness {
namespace {

// splitmix64's finaliser: a bijection of 64-bit numbers whose outputs look independent.
std::uint64_t mix(std::uint64_t z) noexcept {
  z += 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

}  // namespace

void sequence_digest::add(std::uint64_t seq) noexcept {
  ++count;
  sum += seq;
  mixed_sum += mix(seq);
}

sequence_digest& sequence_digest::operator+=(const sequence_digest& other) noexcept {
  count += other.count;
  sum += other.sum;
  mixed_sum += other.mixed_sum;
  return *this;
}

sequence_digest sequence_digest::of_range(std::uint64_t count) noexcept {
  sequence_digest digest;
  for (std::uint64_t seq = 0; seq < count; ++seq) digest.add(seq);
  return digest;
}

std::string explain_difference(const sequence_digest& got, const sequence_digest& want) {
  if (got == want) return "the messages checked are the messages sent";
  if (got.count + 1 == want.count) {
    return "message " + std::to_string(want.sum - got.sum) + " was never checked (lost)";
  }
  if (got.count == want.count + 1) {
    return "message " + std::to_string(got.sum - want.sum) + " was checked twice (duplicated)";
  }
  if (got.count != want.count) {
    return std::to_string(got.count) + " messages were checked, " + std::to_string(want.count) +
           " sent";
  }
  return "as many messages were checked as sent, but not the same ones (some lost, others "
         "checked twice)";
}

}  // namespace harness
