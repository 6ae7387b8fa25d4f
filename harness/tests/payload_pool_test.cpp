#include "payload_pool.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace {

using harness::payload_pool;

std::vector<std::byte> copy_of(std::span<const std::byte> s) { return {s.begin(), s.end()}; }

TEST(PayloadPool, every_message_matches_itself_and_only_itself) {
  payload_pool pool(4096);
  for (std::uint64_t seq = 0; seq < 3 * pool.slots(); seq += 97) {
    const auto message = copy_of(pool.message(seq));
    EXPECT_TRUE(pool.matches(seq, message)) << seq;
    EXPECT_FALSE(pool.matches(seq + 1, message)) << "a reordered message must not pass";
  }
}

TEST(PayloadPool, catches_a_corrupted_byte_anywhere) {
  payload_pool pool(1000);
  const auto original = copy_of(pool.message(7));
  for (std::size_t i = 0; i < original.size(); i += 13) {
    auto changed = original;
    changed[i] ^= std::byte{0x10};
    EXPECT_FALSE(pool.matches(7, changed)) << "byte " << i;
  }
  auto changed = original;
  changed[500] ^= std::byte{1};
  EXPECT_NE(pool.explain_mismatch(7, changed).find("checksum"), std::string::npos);
}

TEST(PayloadPool, catches_a_dropped_message_and_a_short_one) {
  payload_pool pool(256);
  const auto second = copy_of(pool.message(2));
  EXPECT_FALSE(pool.matches(1, second));
  EXPECT_NE(pool.explain_mismatch(1, second).find("stamp of message 2"), std::string::npos);
  EXPECT_FALSE(pool.matches(2, std::span(second).first(255)));
}

TEST(PayloadPool, slots_repeat_content_but_not_stamps) {
  payload_pool pool(64);
  const auto first = copy_of(pool.message(0));
  const auto again = copy_of(pool.message(pool.slots()));
  EXPECT_FALSE(pool.matches(0, again));
  EXPECT_TRUE(pool.matches(pool.slots(), again));
  EXPECT_TRUE(std::equal(first.begin() + 8, first.end(), again.begin() + 8));
}

TEST(PayloadPool, large_messages_rotate_over_more_than_an_l2_cache) {
  payload_pool pool(1 << 20);
  EXPECT_GE(pool.slots() * pool.message_size(), std::size_t{8} << 20);
  EXPECT_GE(payload_pool(64u << 20).slots(), 2u);
}

TEST(PayloadPool, large_messages_rotate_over_four_last_level_caches_within_a_gib) {
  constexpr std::size_t mib = 1u << 20;
  EXPECT_EQ(payload_pool::pool_bytes_for(4096, 32 * mib), 128 * mib);
  EXPECT_EQ(payload_pool::pool_bytes_for(64 * mib, 32 * mib), 128 * mib);
  EXPECT_EQ(payload_pool::pool_bytes_for(1 * mib, 480 * mib), 1024 * mib);  // capped
  EXPECT_EQ(payload_pool::pool_bytes_for(1 * mib, 0), 8 * mib);             // cache size unknown
  EXPECT_EQ(payload_pool::pool_bytes_for(64, 32 * mib), 64 * 1024);         // small: 1024 messages
  const payload_pool pool(16 * mib, 32 * mib);
  EXPECT_EQ(pool.slots(), 8u);
  EXPECT_EQ(pool.bytes(), 128 * mib);
  EXPECT_GE(payload_pool(64 * mib, 0).slots(), payload_pool::min_slots);
}

TEST(PayloadPool, bytes_are_not_zeros) {
  payload_pool pool(4096);
  const auto message = pool.message(0);
  std::size_t zeros = 0;
  for (std::byte b : message) zeros += b == std::byte{0};
  EXPECT_LT(zeros, message.size() / 64);
}

TEST(PayloadPool, write_message_builds_the_same_bytes_in_place) {
  payload_pool pool(3000);
  std::vector<std::byte> built(3000);
  pool.write_message(42, built);
  EXPECT_TRUE(pool.matches(42, built));
  EXPECT_EQ(built, copy_of(pool.message(42)));
}

TEST(PayloadPool, write_message_in_pieces_builds_the_same_bytes) {
  payload_pool pool(3000);
  // Pieces that cut through the stamp (1, then 2 bytes) and through the payload.
  for (const std::size_t piece :
       {std::size_t{1}, std::size_t{2}, std::size_t{7}, std::size_t{1000}}) {
    std::vector<std::byte> built(3000);
    for (std::size_t at = 0; at < built.size(); at += piece) {
      pool.write_message(42, std::span(built).subspan(at, std::min(piece, built.size() - at)), at);
    }
    EXPECT_TRUE(pool.matches(42, built)) << "pieces of " << piece;
    EXPECT_EQ(built, copy_of(pool.message(42))) << "pieces of " << piece;
  }
}

TEST(PayloadPool, tiny_messages_carry_a_partial_stamp) {
  payload_pool pool(3);
  EXPECT_TRUE(pool.matches(5, copy_of(pool.message(5))));
  EXPECT_FALSE(pool.matches(6, copy_of(pool.message(5))));
  payload_pool empty(0);
  EXPECT_TRUE(empty.matches(9, {}));
}

}  // namespace
