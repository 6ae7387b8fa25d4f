// Several pairs at once (pair_group.hpp): they start together and each checks every message;
// one pair's failure ends the group, names the pair and leaves no process behind; a transport
// that cannot be made is an error.
#include "pair_group.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

#include "baselines/transports.hpp"
#include "test_stream.hpp"

namespace {

using baselines::Channel;
using harness::role;
using harness::role_context;
using harness::role_report;

constexpr std::size_t message_size = 64u << 10;
constexpr std::uint64_t messages = 200;

// Counters every process of a group sees: anonymous shared memory made before the forks.
struct shared_counters {
  std::atomic<int> leaders_started{0};
  std::atomic<int> followers_killed{0};
};

class PairGroup : public ::testing::Test {
 protected:
  void SetUp() override {
    void* p = ::mmap(nullptr, sizeof(shared_counters), PROT_READ | PROT_WRITE,
                     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(p, MAP_FAILED);
    counters_ = new (p) shared_counters;
  }
  void TearDown() override { ::munmap(counters_, sizeof(shared_counters)); }

  // After "go", waits (up to 10 s) until every pair's leader has started: pairs started one
  // after another would never all be running at once, and fail here.
  role leader(int pairs) const {
    return {"sender", [pairs, counters = counters_](Channel& channel, role_context& context) {
              std::vector<std::byte> message(message_size);
              context.ready();
              counters->leaders_started.fetch_add(1);
              const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
              while (counters->leaders_started.load() < pairs) {
                if (std::chrono::steady_clock::now() > give_up) {
                  throw std::runtime_error("the pairs did not start together");
                }
                std::this_thread::yield();
              }
              for (std::uint64_t seq = 0; seq < messages; ++seq) {
                transport_test::fill(seq, message);
                channel.send(message);
                context.progress(seq + 1);
              }
              channel.flush();
              return role_report{};
            }};
  }

  // Checks every message; with `kill_one`, the first follower to get there dies instead.
  role follower(bool kill_one = false) const {
    return {"receiver", [kill_one, counters = counters_](Channel& channel, role_context& context) {
              std::vector<std::byte> scratch(message_size);
              context.ready();
              role_report report;
              for (std::uint64_t seq = 0; seq < messages; ++seq) {
                if (kill_one && seq == 10 && counters->followers_killed.fetch_add(1) == 0) {
                  ::raise(SIGKILL);
                }
                const auto got = channel.receive(scratch);
                if (!transport_test::is_message(seq, message_size, got)) {
                  throw std::runtime_error("message " + std::to_string(seq) + " arrived wrong");
                }
                report.bytes_checked += got.size();
                ++report.messages_checked;
                context.progress(seq + 1);
              }
              return report;
            }};
  }

  static std::unique_ptr<baselines::Transport> tuned_pipe() {
    return baselines::make_tuned_pipe({.message_size = message_size});
  }

  // True when the calling process has no child left, reaped or not.
  static bool no_child_left() { return ::waitpid(-1, nullptr, WNOHANG) < 0 && errno == ECHILD; }

  shared_counters* counters_ = nullptr;
};

TEST_F(PairGroup, pairs_start_together_and_each_checks_every_message) {
  const auto outcome =
      harness::run_pair_group(3, &tuned_pipe, leader(3), follower(), std::chrono::seconds(10));
  ASSERT_TRUE(outcome.ok()) << outcome.error;
  ASSERT_EQ(outcome.pairs.size(), 3u);
  for (const auto& pair : outcome.pairs) {
    EXPECT_EQ(pair.follower.messages_checked, messages);
    EXPECT_EQ(pair.follower.bytes_checked, messages * message_size);
  }
  EXPECT_TRUE(no_child_left());
}

TEST_F(PairGroup, a_pair_that_fails_ends_the_group_names_it_and_leaves_no_process) {
  const auto outcome =
      harness::run_pair_group(3, &tuned_pipe, leader(3), follower(true), std::chrono::seconds(10));
  ASSERT_FALSE(outcome.ok());
  EXPECT_NE(outcome.error.find("pair "), std::string::npos) << outcome.error;
  EXPECT_NE(outcome.error.find("died"), std::string::npos) << outcome.error;
  EXPECT_TRUE(outcome.pairs.empty());
  EXPECT_TRUE(no_child_left());
}

TEST_F(PairGroup, a_transport_that_cannot_be_made_is_an_error) {
  const auto refuse = []() -> std::unique_ptr<baselines::Transport> {
    throw std::runtime_error("no such transport here");
  };
  const auto outcome =
      harness::run_pair_group(2, refuse, leader(2), follower(), std::chrono::seconds(10));
  ASSERT_FALSE(outcome.ok());
  EXPECT_NE(outcome.error.find("no such transport here"), std::string::npos) << outcome.error;
  EXPECT_TRUE(no_child_left());
}

}  // namespace
