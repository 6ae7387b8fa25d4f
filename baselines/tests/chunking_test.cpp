// The chunked framing over an in-memory datagram queue: sizes around every chunk boundary,
// in-place receipt of small messages, and malformed or oversized input.
#include "chunking.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <deque>
#include <memory>
#include <stdexcept>
#include <vector>

#include "forked_peer.hpp"
#include "test_stream.hpp"

namespace {

using baselines::chunk_header_size;
using transport_test::fill;
using transport_test::is_message;

constexpr std::size_t max_datagram = 64;

// One datagram queue in memory; the test sends and receives on the same link (a loopback).
class memory_link final : public baselines::datagram_link {
 public:
  explicit memory_link(std::deque<std::vector<std::byte>>& queue) : queue_(queue) {}

  std::size_t max_datagram() const noexcept override { return ::max_datagram; }

  void send(std::span<const std::byte> datagram) override {
    if (datagram.size() > ::max_datagram) throw std::length_error("datagram too large");
    queue_.emplace_back(datagram.begin(), datagram.end());
  }

  std::size_t receive(std::span<std::byte> buffer) override {
    // Real queues refuse a buffer smaller than their largest datagram.
    if (buffer.size() < ::max_datagram) throw std::length_error("receive buffer too small");
    if (queue_.empty()) throw std::runtime_error("empty queue");
    const auto datagram = std::move(queue_.front());
    queue_.pop_front();
    std::memcpy(buffer.data(), datagram.data(), datagram.size());
    return datagram.size();
  }

 private:
  std::deque<std::vector<std::byte>>& queue_;
};

class ChunkingTest : public ::testing::Test {
 protected:
  std::deque<std::vector<std::byte>> queue;
  std::unique_ptr<baselines::Channel> channel =
      baselines::make_chunked_channel(std::make_unique<memory_link>(queue));
  std::vector<std::byte> scratch = std::vector<std::byte>(4096);
};

TEST_F(ChunkingTest, sizes_around_every_chunk_boundary_arrive_intact) {
  const std::size_t inline_max = max_datagram - chunk_header_size;
  const std::size_t sizes[] = {0,
                               1,
                               inline_max - 1,
                               inline_max,
                               inline_max + 1,
                               max_datagram - 1,
                               max_datagram,
                               max_datagram + 1,
                               2 * max_datagram - 1,
                               2 * max_datagram,
                               2 * max_datagram + 1,
                               10 * max_datagram + 3,
                               4096};
  std::uint64_t seq = 0;
  for (const std::size_t size : sizes) {
    std::vector<std::byte> message(size);
    fill(seq, message);
    channel->send(message);
    EXPECT_EQ(queue.size(), baselines::datagrams_per_message(size, max_datagram)) << size;
    for (const auto& datagram : queue) EXPECT_LE(datagram.size(), max_datagram);
    EXPECT_TRUE(is_message(seq, size, channel->receive(scratch))) << size;
    EXPECT_TRUE(queue.empty()) << size;
    ++seq;
  }
}

TEST_F(ChunkingTest, small_messages_travel_inline_and_are_received_in_place) {
  std::vector<std::byte> message(max_datagram - chunk_header_size);
  fill(7, message);
  channel->send(message);
  ASSERT_EQ(queue.size(), 1u);
  const auto got = channel->receive(scratch);
  EXPECT_TRUE(is_message(7, message.size(), got));
  const bool in_scratch = got.data() >= scratch.data() && got.data() < scratch.data() + 4096;
  EXPECT_FALSE(in_scratch) << "an inline message needs no copy into the caller's buffer";
}

TEST_F(ChunkingTest, large_messages_need_a_header_datagram_and_full_chunks) {
  std::vector<std::byte> message(3 * max_datagram + 5);
  fill(1, message);
  channel->send(message);
  ASSERT_EQ(queue.size(), 5u);
  EXPECT_EQ(queue[0].size(), chunk_header_size);
  EXPECT_EQ(queue[1].size(), max_datagram);
  EXPECT_EQ(queue[3].size(), max_datagram);
  EXPECT_EQ(queue[4].size(), 5u);
}

TEST_F(ChunkingTest, message_larger_than_the_buffer_is_an_error) {
  std::vector<std::byte> message(4 * max_datagram);
  channel->send(message);
  std::vector<std::byte> small(3 * max_datagram);
  EXPECT_THROW(channel->receive(small), std::runtime_error);
}

TEST_F(ChunkingTest, wrongly_sized_chunk_is_an_error) {
  std::vector<std::byte> message(2 * max_datagram);
  channel->send(message);
  queue[1].resize(max_datagram - 1);  // a short chunk where a full one belongs
  EXPECT_THROW(channel->receive(scratch), std::runtime_error);
}

TEST_F(ChunkingTest, inline_message_with_a_wrong_length_is_an_error) {
  std::vector<std::byte> message(10);
  channel->send(message);
  queue[0].pop_back();
  EXPECT_THROW(channel->receive(scratch), std::runtime_error);
}

TEST_F(ChunkingTest, datagram_without_a_header_is_an_error) {
  queue.emplace_back(chunk_header_size - 1);
  EXPECT_THROW(channel->receive(scratch), std::runtime_error);
}

}  // namespace
