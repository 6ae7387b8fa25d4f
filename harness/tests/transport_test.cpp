// Every transport in the registry, driven through the same supervised two-process runner the
// benchmarks use: messages of random sizes arrive intact and in order in both directions, and a
// peer that dies or stalls produces an error instead of a hang.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "peer_process.hpp"
#include "test_stream.hpp"
#include "test_transports.hpp"

namespace {

using baselines::Channel;
using harness::role;
using harness::role_context;
using harness::role_report;
using transport_test::expect_message;
using transport_test::fill;
using transport_test::size_of;

constexpr std::size_t max_message = 4u << 20;

// The leader sends `count` messages; the follower checks each and echoes it; the leader checks
// the echo. `follower_stop` lets a test kill or freeze the follower after some messages.
struct echo_test {
  std::uint64_t count = 0;
  std::uint64_t follower_stops_after = ~0ull;
  enum class stop { die, freeze } how = stop::die;

  role leader() const {
    return {"leader", [n = count](Channel& channel, role_context& context) {
              std::vector<std::byte> out(max_message), want, scratch(max_message);
              context.ready();
              role_report report;
              for (std::uint64_t seq = 0; seq < n; ++seq) {
                const auto message = std::span(out).first(size_of(seq));
                fill(seq, message);
                channel.send(message);
                channel.flush();
                expect_message(seq, channel.receive(scratch), want);
                report.bytes_checked += message.size();
                context.progress(seq + 1);
              }
              report.messages_checked = n;
              return report;
            }};
  }

  role follower() const {
    return {"follower", [n = count, stop_at = follower_stops_after, how = how](
                            Channel& channel, role_context& context) {
              std::vector<std::byte> want, scratch(max_message);
              context.ready();
              role_report report;
              for (std::uint64_t seq = 0; seq < n; ++seq) {
                if (seq == stop_at) {
                  if (how == stop::die) ::raise(SIGKILL);
                  std::this_thread::sleep_for(std::chrono::hours(1));
                }
                const auto received = channel.receive(scratch);
                expect_message(seq, received, want);
                channel.send(received);
                channel.flush();
                report.bytes_checked += received.size();
                context.progress(seq + 1);
              }
              report.messages_checked = n;
              return report;
            }};
  }
};

class TransportTest : public ::testing::TestWithParam<const harness::transport_entry*> {
 protected:
  harness::pair_outcome run(const echo_test& test,
                            std::chrono::milliseconds stall = std::chrono::seconds(10)) {
    auto transport = GetParam()->make({.message_size = max_message});
    return harness::run_pair(std::move(transport), test.leader(), test.follower(), stall);
  }
};

TEST_P(TransportTest, random_sizes_arrive_intact_in_order_both_ways) {
  const auto outcome = run({.count = 2000});
  ASSERT_TRUE(outcome.ok()) << outcome.error;
  EXPECT_EQ(outcome.leader.messages_checked, 2000u);
  EXPECT_EQ(outcome.follower.messages_checked, 2000u);
  EXPECT_EQ(outcome.leader.bytes_checked, outcome.follower.bytes_checked);
  EXPECT_GT(outcome.leader.bytes_checked, 100u << 20);
}

TEST_P(TransportTest, killed_peer_is_an_error_not_a_hang) {
  const auto start = std::chrono::steady_clock::now();
  const auto outcome = run({.count = 100000, .follower_stops_after = 300});
  ASSERT_FALSE(outcome.ok());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
  EXPECT_FALSE(outcome.error.empty());
  RecordProperty("error", outcome.error);
}

TEST_P(TransportTest, stalled_peer_is_an_error_not_a_hang) {
  const auto outcome =
      run({.count = 100000, .follower_stops_after = 300, .how = echo_test::stop::freeze},
          std::chrono::milliseconds(500));
  ASSERT_FALSE(outcome.ok());
  EXPECT_NE(outcome.error.find("stalled"), std::string::npos) << outcome.error;
}

TEST_P(TransportTest, killed_leader_is_seen_by_the_follower) {
  // The follower waits for a message that never comes: its side must end, not wait forever.
  role leader{"leader", [](Channel&, role_context& context) -> role_report {
                context.ready();
                ::raise(SIGKILL);
                return {};
              }};
  echo_test test{.count = 10};
  auto transport = GetParam()->make({.message_size = max_message});
  const auto outcome =
      harness::run_pair(std::move(transport), leader, test.follower(), std::chrono::seconds(10));
  ASSERT_FALSE(outcome.ok());
  EXPECT_NE(outcome.error.find("died"), std::string::npos) << outcome.error;
}

INSTANTIATE_TEST_SUITE_P(AllTransports, TransportTest,
                         ::testing::ValuesIn(harness_test::ipc_transports()),
                         [](const auto& info) { return std::string(info.param->id); });

}  // namespace
