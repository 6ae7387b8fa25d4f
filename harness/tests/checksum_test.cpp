#include "checksum.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

namespace {

using harness::checksum;

std::vector<std::byte> random_bytes(std::size_t n, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::byte> out(n);
  for (auto& b : out) b = static_cast<std::byte>(rng());
  return out;
}

TEST(Checksum, catches_every_single_bit_flip) {
  const auto original = random_bytes(1000, 1);
  const auto reference = checksum(original);
  for (std::size_t i = 0; i < original.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      auto changed = original;
      changed[i] ^= std::byte(1u << bit);
      ASSERT_NE(checksum(changed), reference) << "byte " << i << " bit " << bit;
    }
  }
}

TEST(Checksum, catches_swapped_words_and_blocks) {
  const auto original = random_bytes(4096, 2);
  const auto reference = checksum(original);
  auto words = original;
  std::swap_ranges(words.begin(), words.begin() + 8, words.begin() + 8);  // two adjacent words
  EXPECT_NE(checksum(words), reference);
  auto lanes = original;
  std::swap_ranges(lanes.begin(), lanes.begin() + 8, lanes.begin() + 32);  // same lane, next block
  EXPECT_NE(checksum(lanes), reference);
  auto blocks = original;
  std::swap_ranges(blocks.begin(), blocks.begin() + 1024, blocks.begin() + 2048);
  EXPECT_NE(checksum(blocks), reference);
}

TEST(Checksum, length_matters_even_for_zero_bytes) {
  const std::vector<std::byte> zeros(64);
  EXPECT_NE(checksum(std::span(zeros).first(63)), checksum(zeros));
  EXPECT_NE(checksum(std::span(zeros).first(0)), checksum(std::span(zeros).first(1)));
}

TEST(Checksum, same_bytes_same_sum_at_any_alignment) {
  const auto data = random_bytes(777, 3);
  std::vector<std::byte> shifted(data.size() + 3);
  std::memcpy(shifted.data() + 3, data.data(), data.size());
  EXPECT_EQ(checksum(data), checksum(std::span(shifted).subspan(3)));
}

}  // namespace
