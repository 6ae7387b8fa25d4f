// The two cross-memory-attach transports between two processes: every size class both ways, each
// message copied once (pulled by the receiver in cma, pushed by the sender in cma_push); a message
// larger than what the receiver has room for; a sender that dies; and, in cma_push, a view that
// stays intact while the sender pushes the next message.
#include <gtest/gtest.h>
#include <unistd.h>

#include <vector>

#include "baselines/transports.hpp"
#include "forked_peer.hpp"
#include "test_stream.hpp"

namespace {

using transport_test::fill;
using transport_test::forked_peer;
using transport_test::is_message;

using factory = std::unique_ptr<baselines::Transport> (*)(const baselines::TransportParams&);

std::unique_ptr<baselines::Transport> make(factory f) {
  try {
    return f({.message_size = 8u << 20});
  } catch (const baselines::unsupported&) {
    return nullptr;
  }
}

#define SKIP_WITHOUT_CMA(f) \
  if (!make(f)) GTEST_SKIP() << "the kernel refuses cross-memory attach here"

class CrossMemory : public testing::TestWithParam<factory> {};

TEST_P(CrossMemory, every_size_class_both_ways) {
  SKIP_WITHOUT_CMA(GetParam());
  EXPECT_EQ(transport_test::echo_every_size(make(GetParam()),
                                            {0, 1, 4095, 4096, 65537, 1u << 20, 8u << 20}),
            "");
}

TEST_P(CrossMemory, a_sender_that_dies_is_peer_closed) {
  SKIP_WITHOUT_CMA(GetParam());
  auto [channel, peer] = forked_peer::start(make(GetParam()), [](baselines::Channel&) {});
  std::vector<std::byte> scratch(16);
  try {
    channel->receive(scratch);
    FAIL() << "received from a peer that sent nothing";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "peer closed");
  }
  EXPECT_EQ(peer.wait(), "");
}

INSTANTIATE_TEST_SUITE_P(Pull, CrossMemory, testing::Values(&baselines::make_cma));
INSTANTIATE_TEST_SUITE_P(Push, CrossMemory, testing::Values(&baselines::make_cma_push));

TEST(Cma, a_message_larger_than_the_receive_buffer_is_an_error) {
  SKIP_WITHOUT_CMA(&baselines::make_cma);
  auto [channel, peer] = forked_peer::start(make(&baselines::make_cma), [](baselines::Channel& c) {
    std::vector<std::byte> scratch(10);
    c.receive(scratch);  // throws: the peer's error is its exception text
  });
  std::vector<std::byte> message(11);
  EXPECT_THROW(channel->send(message), std::runtime_error);  // no acknowledgement comes
  EXPECT_NE(peer.wait().find("larger than the receive buffer"), std::string::npos);
}

TEST(CmaPush, a_message_larger_than_the_receivers_buffers_is_refused_before_any_copy) {
  SKIP_WITHOUT_CMA(&baselines::make_cma_push);
  auto [channel, peer] =
      forked_peer::start(make(&baselines::make_cma_push), [](baselines::Channel& c) {
        std::vector<std::byte> scratch(1);
        c.receive(scratch);  // the one message that fits
      });
  std::vector<std::byte> message((8u << 20) + 1);
  try {
    channel->send(message);
    FAIL() << "sent a message larger than the receiver's buffers";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("larger than the receive buffer"), std::string::npos);
  }
  channel->send(std::span(message).first(8u << 20));
  EXPECT_EQ(peer.wait(), "");
}

// The receiver holds message 0 while the sender pushes 1 and 2: 1 goes to the other buffer, 2
// waits for the credit that receiving 1 gives back, so message 0 is never overwritten while held.
TEST(CmaPush, a_view_stays_intact_until_the_next_receive) {
  SKIP_WITHOUT_CMA(&baselines::make_cma_push);
  auto [channel, peer] =
      forked_peer::start(make(&baselines::make_cma_push), [](baselines::Channel& c) {
        for (std::size_t i = 0; i < 3; ++i) {
          std::vector<std::byte> message(1u << 20);
          fill(i, message);
          c.send(message);
        }
      });
  std::vector<std::byte> scratch(1);
  const auto first = channel->receive(scratch);
  usleep(50'000);  // the sender pushes message 1, then waits with message 2
  EXPECT_TRUE(is_message(0, 1u << 20, first));
  EXPECT_TRUE(is_message(1, 1u << 20, channel->receive(scratch)));
  EXPECT_TRUE(is_message(2, 1u << 20, channel->receive(scratch)));
  EXPECT_EQ(peer.wait(), "");
}

}  // namespace
