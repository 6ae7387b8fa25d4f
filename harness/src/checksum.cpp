#include "checksum.hpp"

#include <array>
#include <cstring>

namespace harness {
namespace {

constexpr std::size_t lanes = 4;
constexpr std::size_t block = lanes * sizeof(std::uint64_t);

// A strong 64-bit finaliser (splitmix64's) so that nearby sums give unrelated checksums.
constexpr std::uint64_t mix(std::uint64_t x) noexcept {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

}  // namespace

std::uint64_t checksum(std::span<const std::byte> data) noexcept {
  // Non-zero starting values, so that a message of zero words still differs by length.
  std::array<std::uint64_t, lanes> sum{1, 2, 3, 4};
  std::array<std::uint64_t, lanes> weighted{};
  const std::byte* p = data.data();
  std::size_t left = data.size();
  for (; left >= block; left -= block, p += block) {
    std::array<std::uint64_t, lanes> word;
    std::memcpy(word.data(), p, block);
    for (std::size_t i = 0; i < lanes; ++i) {
      sum[i] += word[i];
      weighted[i] += sum[i];
    }
  }
  // The tail, zero-padded; the length below tells a padded tail from real zeros.
  std::array<std::uint64_t, lanes> tail{};
  if (left != 0) std::memcpy(tail.data(), p, left);
  for (std::size_t i = 0; i < lanes; ++i) {
    sum[i] += tail[i];
    weighted[i] += sum[i];
  }
  std::uint64_t h = mix(data.size());
  for (std::size_t i = 0; i < lanes; ++i) h = mix(h ^ sum[i]) + mix(weighted[i] + i);
  return h;
}

}  // namespace harness
