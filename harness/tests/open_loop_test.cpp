// The open loop shows what the closed loop hides. One 10 ms stall of the receiver, before the
// middle message (run_settings::inject_stall), delays a single round trip of the ping-pong,
// because the pinger waits for each answer and sends nothing meanwhile; in the open loop every
// message due while the receiver slept queues behind the stall, and each one's delay counts.
//
// The assertions count messages rather than time anything closely, so that a noisy machine or a
// sanitizer build cannot fail them: noise only adds delay, which can only help the open-loop
// assertion, and would need to push several round trips past 5 ms to break the closed-loop one.
// Counts are read off nearest-rank percentiles (latency_stats.hpp): of N samples, the p-th
// percentile is at least 5 ms exactly when more than N - ceil(p/100 x N) samples are.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "payload_pool.hpp"
#include "test_transports.hpp"
#include "workloads.hpp"

namespace {

using namespace std::chrono_literals;
using harness::run_result;
using harness::workload;

constexpr std::size_t message_size = 64;
constexpr auto stall = 10ms;
constexpr auto long_delay = 5ms;  // half the stall
constexpr std::uint64_t ns(std::chrono::nanoseconds d) { return d.count(); }

// 2000 messages 100 µs apart: 0.2 s, with about 50 messages due in the stall's first 5 ms.
constexpr std::uint64_t open_loop_messages = 2000;
constexpr auto send_interval = 100us;
// 5000 round trips: p99.9 is at least 5 ms only if more than 5 of them are.
constexpr std::uint64_t round_trips = 5000;

class OpenLoopTest : public ::testing::TestWithParam<const harness::transport_entry*> {
 protected:
  run_result run(workload w, std::uint64_t count, harness::run_settings settings) {
    settings.send_interval = send_interval;
    return harness::run_workload(w, *GetParam(), pool_, count, settings);
  }

  harness::payload_pool pool_{message_size};
};

TEST_P(OpenLoopTest, a_receiver_stall_shows_in_the_open_loop_and_hides_in_the_closed_loop) {
  const harness::run_settings stalled{.inject_stall = stall};

  const run_result open = run(workload::openloop, open_loop_messages, stalled);
  ASSERT_TRUE(open.ok()) << open.error;
  EXPECT_EQ(open.messages, open_loop_messages);
  EXPECT_EQ(open.bytes_checked, open_loop_messages * message_size);
  // p99 of 2000 >= 5 ms: more than 20 messages waited at least half the stall.
  EXPECT_GE(open.latency.p99_ns, ns(long_delay))
      << "open loop: p99 " << open.latency.p99_ns << " ns, max " << open.latency.max_ns;
  EXPECT_GE(open.latency.max_ns, ns(long_delay));

  const run_result closed = run(workload::latency, round_trips, stalled);
  ASSERT_TRUE(closed.ok()) << closed.error;
  EXPECT_EQ(closed.messages, round_trips);
  // The stall is in the ping-pong too, as one round trip...
  EXPECT_GE(closed.latency.max_ns, ns(stall));
  // ...and at most a few others took 5 ms, so p99.9 of 5000 stays under it.
  EXPECT_LT(closed.latency.p999_ns, ns(long_delay))
      << "closed loop: p99.9 " << closed.latency.p999_ns << " ns, max " << closed.latency.max_ns;

  std::printf(
      "%s: stall of %lld ms; open loop p99 %.2f ms, p99.9 %.2f ms, max %.2f ms; closed "
      "loop p99.9 %.3f ms, max %.2f ms\n",
      std::string(GetParam()->id).c_str(), static_cast<long long>(stall.count()),
      open.latency.p99_ns / 1e6, open.latency.p999_ns / 1e6, open.latency.max_ns / 1e6,
      closed.latency.p999_ns / 1e6, closed.latency.max_ns / 1e6);
}

TEST_P(OpenLoopTest, a_corrupted_message_fails_the_run) {
  const run_result result =
      run(workload::openloop, open_loop_messages, {.inject_corruption = true});
  ASSERT_FALSE(result.ok());
  const std::string want =
      "message " + std::to_string(open_loop_messages / 2) + ": checksum mismatch (corrupted";
  EXPECT_NE(result.error.find(want), std::string::npos) << result.error;
}

INSTANTIATE_TEST_SUITE_P(AllTransports, OpenLoopTest,
                         ::testing::ValuesIn(harness_test::ipc_transports()),
                         [](const auto& info) { return std::string(info.param->id); });

}  // namespace
