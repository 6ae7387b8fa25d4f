// shm_ring between two processes, on a small ring so that every boundary is reached quickly:
// wrap-around, the largest contiguous record, messages larger than the ring, copy-out and in-place
// receipt.
#include "shm_ring.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "baselines/transports.hpp"
#include "forked_peer.hpp"
#include "size_text.hpp"
#include "test_stream.hpp"

namespace {

using transport_test::fill;
using transport_test::forked_peer;
using transport_test::is_message;

constexpr std::size_t ring = 4096;
constexpr std::size_t header = 8;
constexpr std::size_t largest_contiguous = ring / 2 - header;  // record of exactly half the ring

std::unique_ptr<baselines::Transport> small_ring() {
  return baselines::make_shm_ring({.message_size = 1u << 20}, ring);
}

// The leader sends each size in turn and checks its echo, with each way of receiving.
void expect_echoes(const std::vector<std::size_t>& sizes, std::size_t scratch_bytes = 1u << 20) {
  for (const auto how : {baselines::shm_receive::copy_out, baselines::shm_receive::in_place}) {
    SCOPED_TRACE(how == baselines::shm_receive::copy_out ? "copy out" : "in place");
    auto [channel, peer] = forked_peer::start(
        baselines::make_shm_ring({.message_size = 1u << 20}, ring, how),
        [&](baselines::Channel& c) { transport_test::echo(c, sizes.size(), scratch_bytes); });
    std::vector<std::byte> scratch(scratch_bytes);
    for (std::size_t i = 0; i < sizes.size(); ++i) {
      std::vector<std::byte> message(sizes[i]);
      fill(i, message);
      channel->send(message);
      ASSERT_TRUE(is_message(i, sizes[i], channel->receive(scratch))) << i << ": " << sizes[i];
    }
    EXPECT_EQ(peer.wait(), "");
  }
}

TEST(ShmRing, odd_sizes_wrap_around_the_ring_many_times) {
  std::vector<std::size_t> sizes;
  for (std::size_t i = 0; i < 3000; ++i) sizes.push_back((i * 37) % (largest_contiguous + 1));
  expect_echoes(sizes);
}

TEST(ShmRing, sizes_around_the_contiguous_limit_and_the_ring_size) {
  expect_echoes({0, 1, 7, 8, 9, largest_contiguous - 1, largest_contiguous, largest_contiguous + 1,
                 ring - header - 1, ring - header, ring, ring + 1, 0, largest_contiguous, 3, 0});
}

TEST(ShmRing, messages_much_larger_than_the_ring_stream_through_it) {
  expect_echoes({10 * ring + 5, 1u << 20, 1, (1u << 20) - 3, 2 * ring});
}

TEST(ShmRing, record_ending_exactly_at_the_end_of_the_ring_and_a_header_in_its_last_bytes) {
  // 8-byte records of empty messages walk the ring one header at a time, so one of them sits in
  // its last 8 bytes; then records of a quarter ring land exactly on the end.
  std::vector<std::size_t> sizes(ring / header + 3, 0);
  for (int i = 0; i < 9; ++i) sizes.push_back(ring / 4 - header);
  sizes.push_back(largest_contiguous);
  expect_echoes(sizes);
}

TEST(ShmRing, one_way_stream_fills_the_ring_and_waits_for_space) {
  constexpr std::size_t count = 5000;
  auto [channel, peer] = forked_peer::start(small_ring(), [](baselines::Channel& c) {
    std::vector<std::byte> scratch(ring * 4);
    for (std::size_t i = 0; i < count; ++i) {
      const std::size_t size = (i * 131) % (ring * 2);
      if (!is_message(i, size, c.receive(scratch))) throw std::runtime_error("bad message");
    }
    c.send({});  // the acknowledgement
  });
  for (std::size_t i = 0; i < count; ++i) {
    std::vector<std::byte> message((i * 131) % (ring * 2));
    fill(i, message);
    channel->send(message);
  }
  std::byte none[1];
  EXPECT_EQ(channel->receive(none).size(), 0u);
  EXPECT_EQ(peer.wait(), "");
}

// Where each receive's bytes are: in the receiver's buffer, or (shm_ring_inplace, a message that
// sits whole in the ring) in the ring itself.
void expect_where_received(baselines::shm_receive how, bool contiguous_in_scratch) {
  auto [channel, peer] = forked_peer::start(
      baselines::make_shm_ring({.message_size = 1u << 20}, ring, how), [](baselines::Channel& c) {
        std::vector<std::byte> message(largest_contiguous);
        fill(1, message);
        c.send(message);
        message.resize(largest_contiguous + 1);
        fill(2, message);
        c.send(message);
      });
  std::vector<std::byte> scratch(ring);
  const auto in_scratch = [&](std::span<const std::byte> view) {
    return view.data() >= scratch.data() && view.data() < scratch.data() + scratch.size();
  };
  const auto first = channel->receive(scratch);
  EXPECT_TRUE(is_message(1, largest_contiguous, first));
  EXPECT_EQ(in_scratch(first), contiguous_in_scratch);
  const auto second = channel->receive(scratch);
  EXPECT_TRUE(is_message(2, largest_contiguous + 1, second));
  EXPECT_TRUE(in_scratch(second)) << "a streamed message is always copied out";
  EXPECT_EQ(peer.wait(), "");
}

TEST(ShmRing, every_message_is_copied_out_into_the_receivers_buffer) {
  expect_where_received(baselines::shm_receive::copy_out, true);
}

TEST(ShmRing, in_place_a_contiguous_message_is_read_in_the_ring_and_a_large_one_copied) {
  expect_where_received(baselines::shm_receive::in_place, false);
}

TEST(ShmRing, a_contiguous_message_larger_than_the_buffer_is_an_error_when_copying_out) {
  auto [channel, peer] = forked_peer::start(small_ring(), [](baselines::Channel& c) {
    std::vector<std::byte> message(100);
    c.send(message);
  });
  std::vector<std::byte> scratch(99);
  EXPECT_THROW(channel->receive(scratch), std::runtime_error);
  EXPECT_EQ(peer.wait(), "");
}

TEST(ShmRing, streamed_message_larger_than_the_buffer_is_an_error) {
  auto [channel, peer] = forked_peer::start(small_ring(), [](baselines::Channel& c) {
    std::vector<std::byte> message(3 * ring / 4);  // streamed, yet fits without a reader
    c.send(message);
  });
  std::vector<std::byte> scratch(3 * ring / 4 - 1);
  EXPECT_THROW(channel->receive(scratch), std::runtime_error);
  EXPECT_EQ(peer.wait(), "");
}

TEST(ShmRing, in_place_ring_holds_two_messages_of_the_run_whole_up_to_its_cap) {
  const auto ring_of = [](std::size_t message_size) {
    return baselines::make_shm_ring_inplace({.message_size = message_size})->describe();
  };
  EXPECT_NE(ring_of(64u << 10).find("4 MiB each"), std::string::npos) << ring_of(64u << 10);
  // 4 MiB + an 8-B header, twice, rounded up to a power of two.
  EXPECT_NE(ring_of(4u << 20).find("16 MiB each"), std::string::npos) << ring_of(4u << 20);
  EXPECT_NE(ring_of(1u << 30).find("256 MiB each"), std::string::npos) << ring_of(1u << 30);
}

TEST(ShmRing, ring_size_must_be_a_power_of_two) {
  EXPECT_THROW(baselines::make_shm_ring({}, 3 * 4096), std::invalid_argument);
  EXPECT_THROW(baselines::make_shm_ring({}, 1024), std::invalid_argument);
}

TEST(ShmRing, describes_its_ring_size_receipt_and_wake_up) {
  EXPECT_NE(baselines::make_shm_ring({})->describe().find("copied out into the receiver's buffer"),
            std::string::npos);
  EXPECT_NE(baselines::make_shm_ring_inplace({})->describe().find("received in place"),
            std::string::npos);
  const auto text = baselines::make_shm_ring({})->describe();
  EXPECT_NE(text.find(baselines::size_text(baselines::shm_ring_default_bytes) + " each"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("FUTEX_WAIT"), std::string::npos) << text;
}

}  // namespace
