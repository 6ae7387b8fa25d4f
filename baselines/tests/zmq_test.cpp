// zmq_ipc and zmq_tcp: open() returns only once the two sockets are connected, so the socket
// file can go before the first message; high-water marks follow the message size.
#include <gtest/gtest.h>

#include <filesystem>
#include <vector>

#include "baselines/transports.hpp"
#include "forked_peer.hpp"
#include "test_stream.hpp"
#include "unique_name.hpp"

namespace {

using transport_test::fill;
using transport_test::forked_peer;
using transport_test::is_message;

std::vector<std::string> directories;

void record_directory(baselines::named_resource kind, const std::string& name) noexcept {
  if (kind == baselines::named_resource::directory) directories.push_back(name);
}

class ZmqTest : public ::testing::TestWithParam<bool> {  // true: ipc, false: tcp
 protected:
  void SetUp() override {
    directories.clear();
    baselines::set_creation_observer(&record_directory);
  }
  void TearDown() override { baselines::set_creation_observer(nullptr); }

  std::unique_ptr<baselines::Transport> make(std::size_t message_size) const {
    return GetParam() ? baselines::make_zmq_ipc({.message_size = message_size})
                      : baselines::make_zmq_tcp({.message_size = message_size});
  }
};

TEST_P(ZmqTest, open_returns_connected_so_the_socket_file_can_go_before_any_message) {
  auto [channel, peer] = forked_peer::start(
      make(1u << 20), [](baselines::Channel& c) { transport_test::echo(c, 3, 1u << 20); });
  // Both sides are open and the transport is gone: for ipc, so are the directory and the
  // socket file, yet the messages flow, because the handshake connected the sockets first.
  if (GetParam()) {
    ASSERT_EQ(directories.size(), 1u);
    EXPECT_FALSE(std::filesystem::exists(directories[0]));
  } else {
    EXPECT_TRUE(directories.empty());
  }
  std::vector<std::byte> scratch(1u << 20);
  for (const std::size_t size : {0u, 100u, 1u << 20}) {
    std::vector<std::byte> message(size);
    fill(size, message);
    channel->send(message);
    EXPECT_TRUE(is_message(size, size, channel->receive(scratch)));
  }
  EXPECT_EQ(peer.wait(), "");
}

TEST_P(ZmqTest, high_water_marks_follow_the_message_size) {
  EXPECT_NE(make(64)->describe().find("SNDHWM = RCVHWM = 1000 messages"), std::string::npos);
  EXPECT_NE(make(1u << 20)->describe().find("SNDHWM = RCVHWM = 4 messages"), std::string::npos);
  EXPECT_NE(make(64u << 20)->describe().find("SNDHWM = RCVHWM = 4 messages"), std::string::npos);
}

TEST_P(ZmqTest, unopened_transport_removes_its_directory) {
  make(64).reset();
  for (const auto& d : directories) EXPECT_FALSE(std::filesystem::exists(d)) << d;
}

INSTANTIATE_TEST_SUITE_P(Zmq, ZmqTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "ipc" : "tcp"; });

}  // namespace
