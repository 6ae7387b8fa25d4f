// For every transport with no end-of-file of its own, a peer that goes away (killed, or its
// channel destroyed) is an error on the survivor, "peer closed", after the survivor has received
// everything the peer sent before it went. Neither the harness's stall detection nor a timeout
// in the test is involved.
#include <gtest/gtest.h>
#include <signal.h>

#include <stdexcept>
#include <vector>

#include "baselines/transports.hpp"
#include "forked_peer.hpp"
#include "test_stream.hpp"

namespace {

using transport_test::fill;
using transport_test::forked_peer;
using transport_test::is_message;

struct factory {
  const char* name;
  std::unique_ptr<baselines::Transport> (*make)(const baselines::TransportParams&);
};

const factory factories[] = {
    {"boost_mq", &baselines::make_boost_mq}, {"posix_mq", &baselines::make_posix_mq},
    {"shm_ring", &baselines::make_shm_ring}, {"zmq_ipc", &baselines::make_zmq_ipc},
    {"zmq_tcp", &baselines::make_zmq_tcp},
};

class PeerDeathTest : public ::testing::TestWithParam<factory> {
 protected:
  std::unique_ptr<baselines::Transport> make() const {
    return GetParam().make({.message_size = 1u << 20});
  }
};

void expect_peer_closed(baselines::Channel& channel, std::span<std::byte> scratch) {
  try {
    channel.receive(scratch);
    ADD_FAILURE() << "a message arrived from a peer that is gone";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("peer closed"), std::string::npos) << e.what();
  }
}

TEST_P(PeerDeathTest, messages_sent_before_the_peer_left_arrive_then_peer_closed) {
  auto [channel, peer] = forked_peer::start(make(), [](baselines::Channel& c) {
    for (std::size_t i = 0; i < 3; ++i) {
      std::vector<std::byte> message(1000 * i + 1);
      fill(i, message);
      c.send(message);
    }
  });  // the child's channel is destroyed and the child exits
  std::vector<std::byte> scratch(1u << 20);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_TRUE(is_message(i, 1000 * i + 1, channel->receive(scratch))) << i;
  }
  expect_peer_closed(*channel, scratch);
  EXPECT_EQ(peer.wait(), "");
}

TEST_P(PeerDeathTest, killed_peer_is_peer_closed_for_a_waiting_receiver) {
  auto [channel, peer] = forked_peer::start(make(), [](baselines::Channel& c) {
    transport_test::echo(c, 2, 1u << 20);
    // Dies once the leader has its echoes: a message still in this process's own buffers
    // (ZeroMQ sends from an I/O thread) would die with it, on any transport.
    std::vector<std::byte> scratch(1u << 20);
    c.receive(scratch);
    ::raise(SIGKILL);
  });
  std::vector<std::byte> scratch(1u << 20), message(5000);
  for (std::uint64_t i = 0; i < 2; ++i) {
    fill(i, message);
    channel->send(message);
    EXPECT_TRUE(is_message(i, message.size(), channel->receive(scratch)));
  }
  channel->send(message);
  expect_peer_closed(*channel, scratch);
  EXPECT_NE(peer.wait().find("Killed"), std::string::npos);
}

TEST_P(PeerDeathTest, killed_peer_is_peer_closed_for_a_blocked_sender) {
  auto [channel, peer] = forked_peer::start(make(), [](baselines::Channel& c) {
    std::vector<std::byte> scratch(1u << 20);
    c.receive(scratch);
    ::raise(SIGKILL);
  });
  // Sends until the transport's buffers are full and a send blocks on the dead peer.
  std::vector<std::byte> message(1u << 20);
  try {
    for (int i = 0; i < 1000; ++i) channel->send(message);
    ADD_FAILURE() << "1 GiB went into a dead peer";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("peer closed"), std::string::npos) << e.what();
  }
  EXPECT_NE(peer.wait().find("Killed"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Rivals, PeerDeathTest, ::testing::ValuesIn(factories),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
