// cma between two processes: every size class both ways, each message copied once out of the
// sender's memory; a buffer too small for a message; a sender that dies.
#include <gtest/gtest.h>

#include <vector>

#include "baselines/transports.hpp"
#include "forked_peer.hpp"
#include "test_stream.hpp"

namespace {

using transport_test::fill;
using transport_test::forked_peer;
using transport_test::is_message;

std::unique_ptr<baselines::Transport> make() {
  try {
    return baselines::make_cma({.message_size = 8u << 20});
  } catch (const baselines::unsupported&) {
    return nullptr;
  }
}

#define SKIP_WITHOUT_CMA() \
  if (!make()) GTEST_SKIP() << "the kernel refuses process_vm_readv here"

TEST(Cma, every_size_class_both_ways) {
  SKIP_WITHOUT_CMA();
  const std::vector<std::size_t> sizes = {0, 1, 4095, 4096, 65537, 1u << 20, 8u << 20};
  auto [channel, peer] = forked_peer::start(
      make(), [&](baselines::Channel& c) { transport_test::echo(c, sizes.size(), 8u << 20); });
  std::vector<std::byte> scratch(8u << 20);
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    std::vector<std::byte> message(sizes[i]);
    fill(i, message);
    channel->send(message);
    EXPECT_TRUE(is_message(i, sizes[i], channel->receive(scratch))) << sizes[i];
  }
  EXPECT_EQ(peer.wait(), "");
}

TEST(Cma, a_message_larger_than_the_buffer_is_an_error) {
  SKIP_WITHOUT_CMA();
  auto [channel, peer] = forked_peer::start(make(), [](baselines::Channel& c) {
    std::vector<std::byte> scratch(10);
    c.receive(scratch);  // throws: the peer's error is its exception text
  });
  std::vector<std::byte> message(11);
  EXPECT_THROW(channel->send(message), std::runtime_error);  // no acknowledgement comes
  EXPECT_NE(peer.wait().find("larger than the receive buffer"), std::string::npos);
}

TEST(Cma, a_sender_that_dies_is_peer_closed) {
  SKIP_WITHOUT_CMA();
  auto [channel, peer] = forked_peer::start(make(), [](baselines::Channel&) {});
  std::vector<std::byte> scratch(16);
  try {
    channel->receive(scratch);
    FAIL() << "received from a peer that sent nothing";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "peer closed");
  }
  EXPECT_EQ(peer.wait(), "");
}

}  // namespace
