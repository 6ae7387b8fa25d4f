#include "pipes/frame.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace {

using pipes::decode_frame_header;
using pipes::encode_frame_header;
using status = pipes::decoded_header::status;

std::vector<unsigned> bytes_of(const pipes::frame_header& h) {
  std::vector<unsigned> out;
  for (std::byte b : h.view()) out.push_back(std::to_integer<unsigned>(b));
  return out;
}

TEST(Frame, short_header_is_four_byte_big_endian_length) {
  EXPECT_EQ(bytes_of(encode_frame_header(0)), (std::vector<unsigned>{0, 0, 0, 0}));
  EXPECT_EQ(bytes_of(encode_frame_header(0x01020304)), (std::vector<unsigned>{1, 2, 3, 4}));
  EXPECT_EQ(bytes_of(encode_frame_header(0x7fffffff)),
            (std::vector<unsigned>{0x7f, 0xff, 0xff, 0xff}));
}

TEST(Frame, long_header_is_minus_one_then_eight_byte_length) {
  EXPECT_EQ(bytes_of(encode_frame_header(0x80000000)),
            (std::vector<unsigned>{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0x80, 0, 0, 0}));
  EXPECT_EQ(bytes_of(encode_frame_header(0x0102030405060708)),
            (std::vector<unsigned>{0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4, 5, 6, 7, 8}));
}

TEST(Frame, decode_round_trips_every_size_class) {
  for (std::uint64_t size : {0ull, 1ull, 16384ull, 16385ull, 0x7ffffffeull, 0x7fffffffull,
                             0x80000000ull, 0xffffffffull, 1ull << 40, ~0ull}) {
    const auto header = encode_frame_header(size);
    const auto decoded = decode_frame_header(header.view());
    ASSERT_EQ(decoded.state, status::complete) << size;
    EXPECT_EQ(decoded.payload_size, size);
    EXPECT_EQ(decoded.header_size, header.size());
  }
}

TEST(Frame, decode_asks_for_more_until_the_header_is_whole) {
  const auto header = encode_frame_header(1ull << 33);
  for (std::size_t have = 0; have < header.size(); ++have) {
    const auto decoded = decode_frame_header(header.view().first(have));
    EXPECT_EQ(decoded.state, status::incomplete) << have;
    EXPECT_GT(decoded.header_size, have);
  }
}

TEST(Frame, decode_rejects_negative_lengths_other_than_minus_one) {
  const std::byte minus_two[] = {std::byte{0xff}, std::byte{0xff}, std::byte{0xff},
                                 std::byte{0xfe}};
  EXPECT_EQ(decode_frame_header(minus_two).state, status::malformed);
  const std::byte int_min[] = {std::byte{0x80}, std::byte{0}, std::byte{0}, std::byte{0}};
  EXPECT_EQ(decode_frame_header(int_min).state, status::malformed);
}

}  // namespace
