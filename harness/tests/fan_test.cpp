// Worker pools (fanout, fanin), for every transport that has a worker-pool form (its make_fan):
// with 1, 2 and 4 workers every message is checked exactly once; a corrupted message, a worker
// that dies and a hub that dies each fail the run, naming the cause, with no process left
// behind (and no descriptor: fd_leak_check runs after every test). Then the hub of the poll()ed
// transports: it serves its workers in turn, so none waits behind another that is always ready.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cerrno>
#include <chrono>
#include <string>
#include <vector>

#include "baselines/fan_transports.hpp"
#include "payload_pool.hpp"
#include "sequence_digest.hpp"
#include "transport_registry.hpp"
#include "workloads.hpp"

namespace {

using harness::pool_member;
using harness::run_result;
using harness::workload;

constexpr std::size_t message_size = 64u << 10;
constexpr std::uint64_t messages = 1000;
constexpr workload both[] = {workload::fanout, workload::fanin};

std::vector<const harness::transport_entry*> fan_transports() {
  std::vector<const harness::transport_entry*> out;
  for (const auto& t : harness::transports()) {
    if (t.make_fan) out.push_back(&t);
  }
  return out;
}

// True when the calling process has no child left, reaped or not.
bool no_child_left() { return ::waitpid(-1, nullptr, WNOHANG) < 0 && errno == ECHILD; }

class FanTest : public ::testing::TestWithParam<const harness::transport_entry*> {
 protected:
  run_result run(workload w, int workers, harness::run_settings settings = {}) {
    settings.workers = workers;
    settings.stall_timeout = std::chrono::seconds(10);
    return harness::run_workload(w, *GetParam(), pool_, messages, settings);
  }

  std::string name(workload w, int workers) const {
    return harness::benchmark_name(w, GetParam()->id, message_size, workers);
  }

  harness::payload_pool pool_{message_size};
};

TEST_P(FanTest, every_message_is_checked_exactly_once_by_1_2_and_4_workers) {
  for (workload w : both) {
    for (int workers : {1, 2, 4}) {
      SCOPED_TRACE(name(w, workers));
      const run_result result = run(w, workers);
      ASSERT_TRUE(result.ok()) << result.error;
      EXPECT_EQ(result.messages, messages);
      EXPECT_EQ(result.bytes_checked, messages * message_size);
      EXPECT_GE(result.slowest_worker_share, 0.0);
      EXPECT_LE(result.slowest_worker_share, 1.0 + 1e-9);
      if (workers == 1) {
        EXPECT_DOUBLE_EQ(result.slowest_worker_share, 1.0);
      }
      EXPECT_GT(result.cpu_seconds, 0.0);
    }
  }
  EXPECT_TRUE(no_child_left());
}

TEST_P(FanTest, a_corrupted_message_fails_the_run) {
  for (workload w : both) {
    SCOPED_TRACE(name(w, 2));
    const run_result result = run(w, 2, {.inject_corruption = true});
    ASSERT_FALSE(result.ok());
    const std::string want =
        "message " + std::to_string(messages / 2) + ": checksum mismatch (corrupted";
    EXPECT_NE(result.error.find(want), std::string::npos) << result.error;
  }
  EXPECT_TRUE(no_child_left());
}

TEST_P(FanTest, a_worker_that_dies_fails_the_run_and_leaves_nothing_behind) {
  for (workload w : both) {
    SCOPED_TRACE(name(w, 2));
    const run_result result = run(w, 2, {.inject_death = pool_member::worker});
    ASSERT_FALSE(result.ok());
    EXPECT_NE(result.error.find("worker"), std::string::npos) << result.error;
    EXPECT_NE(result.error.find("died"), std::string::npos) << result.error;
    EXPECT_EQ(result.error.find("stalled"), std::string::npos) << result.error;
    EXPECT_TRUE(no_child_left());
    RecordProperty(std::string(harness::name_of(w)) + "_error", result.error);
  }
}

TEST_P(FanTest, a_hub_that_dies_fails_the_run_and_leaves_nothing_behind) {
  for (workload w : both) {
    SCOPED_TRACE(name(w, 2));
    const run_result result = run(w, 2, {.inject_death = pool_member::hub});
    ASSERT_FALSE(result.ok());
    EXPECT_NE(result.error.find("hub"), std::string::npos) << result.error;
    EXPECT_NE(result.error.find("died"), std::string::npos) << result.error;
    EXPECT_EQ(result.error.find("stalled"), std::string::npos) << result.error;
    EXPECT_TRUE(no_child_left());
    RecordProperty(std::string(harness::name_of(w)) + "_error", result.error);
  }
}

TEST_P(FanTest, messages_too_short_for_a_stamp_are_skipped_with_the_reason) {
  harness::payload_pool tiny(4);
  const run_result result =
      harness::run_workload(workload::fanout, *GetParam(), tiny, 10, {.workers = 2});
  EXPECT_TRUE(result.skipped);
  EXPECT_NE(result.error.find("stamp"), std::string::npos) << result.error;
}

INSTANTIATE_TEST_SUITE_P(FanTransports, FanTest, ::testing::ValuesIn(fan_transports()),
                         [](const auto& info) { return std::string(info.param->id); });

TEST(SequenceDigest, adds_up_across_workers_to_the_whole_range) {
  harness::sequence_digest even, odd;
  for (std::uint64_t seq = 0; seq < 10; ++seq) (seq % 2 ? odd : even).add(seq);
  even += odd;
  EXPECT_EQ(even, harness::sequence_digest::of_range(10));
}

TEST(SequenceDigest, tells_a_loss_a_duplicate_and_a_substitution_apart) {
  const auto of = [](std::initializer_list<std::uint64_t> seqs) {
    harness::sequence_digest d;
    for (auto s : seqs) d.add(s);
    return d;
  };
  const auto sent = harness::sequence_digest::of_range(4);
  EXPECT_EQ(harness::explain_difference(of({0, 1, 3}), sent), "message 2 was never checked (lost)");
  EXPECT_EQ(harness::explain_difference(of({0, 1, 2, 3, 1}), sent),
            "message 1 was checked twice (duplicated)");
  EXPECT_NE(of({0, 1, 1, 3}), sent);  // same count: one lost, another twice
  // Same count, sum and sum of squares: only the mixed sum tells them apart.
  EXPECT_NE(of({0, 3, 3}), of({1, 1, 4}));
}

// The hub of the transports of one stream per worker, in one process (every stream has room
// for what the test sends, so nothing blocks): it deals in turn, and takes in turn even when one
// worker's messages are already read ahead.
using fan_factory = std::unique_ptr<baselines::FanTransport> (*)(const baselines::FanParams&);

class PollingHub : public ::testing::TestWithParam<fan_factory> {};

constexpr std::size_t pool_workers = 3;
constexpr std::size_t rounds = 5;

TEST_P(PollingHub, deals_each_message_to_the_next_worker_in_turn) {
  auto fan = GetParam()({.message_size = 16, .workers = pool_workers, .fanin = false});
  auto hub = fan->open_hub();
  std::vector<std::unique_ptr<baselines::Channel>> workers;
  for (std::size_t w = 0; w < pool_workers; ++w) workers.push_back(fan->open_worker(w));
  fan.reset();
  for (std::size_t i = 0; i < pool_workers * rounds; ++i) {
    const auto tag = static_cast<std::byte>(i);
    hub->send(std::span(&tag, 1));
  }
  hub->send_end();
  std::byte scratch[16];
  for (std::size_t w = 0; w < pool_workers; ++w) {
    std::vector<int> got;
    for (;;) {
      const auto message = workers[w]->receive(scratch);
      if (message.empty()) break;
      got.push_back(static_cast<int>(message[0]));
    }
    std::vector<int> want;
    for (std::size_t r = 0; r < rounds; ++r) want.push_back(static_cast<int>(r * pool_workers + w));
    EXPECT_EQ(got, want) << "worker " << w;
  }
}

TEST_P(PollingHub, takes_from_every_ready_worker_in_turn) {
  auto fan = GetParam()({.message_size = 16, .workers = pool_workers, .fanin = true});
  auto hub = fan->open_hub();
  std::vector<std::unique_ptr<baselines::Channel>> workers;
  for (std::size_t w = 0; w < pool_workers; ++w) workers.push_back(fan->open_worker(w));
  fan.reset();
  // Worker 0's messages are all there first, so a hub that reads ahead has them all at once.
  for (std::size_t w = 0; w < pool_workers; ++w) {
    for (std::size_t r = 0; r < rounds; ++r) {
      const auto tag = static_cast<std::byte>(w);
      workers[w]->send(std::span(&tag, 1));
    }
    workers[w]->send({});
  }
  std::byte scratch[16];
  std::vector<int> got;
  for (std::size_t ended = 0; ended < pool_workers;) {
    const auto message = hub->receive(scratch);
    if (message.empty()) {
      ++ended;
    } else {
      got.push_back(static_cast<int>(message[0]));
    }
  }
  std::vector<int> want;
  for (std::size_t r = 0; r < rounds; ++r) {
    for (std::size_t w = 0; w < pool_workers; ++w) want.push_back(static_cast<int>(w));
  }
  EXPECT_EQ(got, want);
}

std::string factory_name(const ::testing::TestParamInfo<fan_factory>& info) {
  static const char* const names[] = {"tuned_pipe", "naive_pipe", "socketpair"};
  return names[info.index];
}

INSTANTIATE_TEST_SUITE_P(StreamPerWorker, PollingHub,
                         ::testing::Values(&baselines::make_tuned_pipe_fan,
                                           &baselines::make_naive_pipe_fan,
                                           &baselines::make_socketpair_fan),
                         factory_name);

}  // namespace
