// Process faults, for every transport the benchmarks use:
//  - the peer is SIGKILLed at a random moment of a stream of small or of large messages, as the
//    sender or as the receiver: the survivor gets an error (not a hang, not a partial message
//    taken for a whole one) within two seconds of the kill, and leaks no descriptor;
//  - a storm of signals whose handler has no SA_RESTART, one every 100 µs in both processes,
//    interrupts an echo of messages of every size: nothing is lost or corrupted.
// The survivor is this test process, so the error it sees is the transport's own, with no
// supervising controller in between.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "forked_peer.hpp"
#include "pipes/fd.hpp"
#include "test_stream.hpp"
#include "test_transports.hpp"

namespace {

using baselines::Channel;
using baselines::Role;
using transport_test::expect_message;
using transport_test::fill;
using transport_test::forked_peer;
using transport_test::message_mismatch;
using transport_test::size_of;
using transport_test::stream_shape;
using clock = std::chrono::steady_clock;

constexpr auto detection_limit = std::chrono::seconds(2);
constexpr int kills_per_case = 3;

struct band {
  const char* name;
  stream_shape shape;
  int max_kill_delay_ms;
};
const band bands[] = {{"small", {1, 4096}, 20}, {"large", {64u << 10, 4u << 20}, 80}};

int open_descriptors() {
  int n = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    ++n;
  }
  return n;
}

// Sends the stream from message `seq` on until the channel fails; flushes every few messages,
// so that a batching channel batches and yet everything sent leaves.
[[noreturn]] void send_forever(Channel& channel, const stream_shape& shape) {
  std::vector<std::byte> message;
  for (std::uint64_t seq = 0;; ++seq) {
    message.resize(size_of(seq, shape));
    if (auto loan = channel.loan(message.size())) {
      fill(seq, *loan);
      channel.commit_loan();
    } else {
      fill(seq, message);
      channel.send(message);
    }
    if (seq % 4 == 3) channel.flush();
  }
}

// Receives and checks the stream until the channel fails or a message is wrong; returns how
// many messages arrived whole (through `checked`, so that it survives the exception).
[[noreturn]] void receive_forever(Channel& channel, const stream_shape& shape,
                                  std::uint64_t& checked) {
  std::vector<std::byte> scratch(shape.max_size), want;
  for (std::uint64_t seq = 0;; ++seq) {
    expect_message(seq, channel.receive(scratch), want, shape);
    checked = seq + 1;
  }
}

std::unique_ptr<baselines::Transport> make(const harness::transport_entry& entry,
                                           const stream_shape& shape) {
  return entry.make({.message_size = shape.max_size});
}

class ProcessFaultTest : public ::testing::TestWithParam<const harness::transport_entry*> {
 protected:
  // As in the harness's processes: a dead reader is an EPIPE error for the writer to report.
  void SetUp() override { previous_sigpipe_ = ::signal(SIGPIPE, SIG_IGN); }
  void TearDown() override { ::signal(SIGPIPE, previous_sigpipe_); }

 private:
  sighandler_t previous_sigpipe_ = SIG_DFL;
};

// One kill, as the survivor saw it (plain data: it crosses a pipe from the survivor process).
struct kill_outcome {
  char error[512] = {};        // what the survivor's transport threw
  char victim_ended[32] = {};  // how the victim ended
  bool error_before_kill = false;
  bool mismatch = false;
  std::int64_t detection_ns = 0;
  std::uint64_t messages_checked = 0;
  int descriptors_leaked = 0;
};

template <std::size_t N>
void copy_text(char (&to)[N], std::string_view from) {
  const std::size_t n = std::min(from.size(), N - 1);
  std::memcpy(to, from.data(), n);
  to[n] = '\0';
}

kill_outcome kill_peer_during_stream(const harness::transport_entry& entry, const band& b,
                                     Role survivor_role, std::mt19937& rng) {
  const bool survivor_sends = survivor_role == Role::leader;
  auto transport = make(entry, b.shape);
  forked_peer victim(transport, survivor_sends ? Role::follower : Role::leader, [&](Channel& c) {
    std::uint64_t checked = 0;
    if (survivor_sends) receive_forever(c, b.shape, checked);
    send_forever(c, b.shape);
  });
  auto channel = transport->open(survivor_role);
  transport.reset();
  kill_outcome out;
  if (!victim.wait_until_open()) {
    copy_text(out.error, "the victim died before opening its side");
    out.error_before_kill = true;
    return out;
  }
  std::atomic<clock::rep> killed_at{0};
  const auto delay =
      std::chrono::milliseconds(std::uniform_int_distribution<int>(0, b.max_kill_delay_ms)(rng));
  std::thread killer([&] {
    std::this_thread::sleep_for(delay);
    const auto now = clock::now();
    victim.kill();
    killed_at.store(now.time_since_epoch().count());
  });
  try {
    if (survivor_sends) send_forever(*channel, b.shape);
    receive_forever(*channel, b.shape, out.messages_checked);
  } catch (const message_mismatch& e) {
    out.mismatch = true;
    copy_text(out.error, e.what());
  } catch (const std::exception& e) {
    copy_text(out.error, e.what());
  }
  const auto failed_at = clock::now();
  killer.join();
  const auto kill_time = clock::time_point(clock::duration(killed_at.load()));
  out.error_before_kill = failed_at < kill_time;
  out.detection_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(failed_at - kill_time).count();
  copy_text(out.victim_ended, victim.wait());
  return out;
}

// Runs kill_peer_during_stream in a process of its own (with the victim as its child), so that a
// survivor that hangs is seen as hanging instead of hanging the test. Empty if it hung.
std::optional<kill_outcome> survive_a_kill(const harness::transport_entry& entry, const band& b,
                                           Role survivor_role, unsigned seed) {
  auto [report_read, report_write] = pipes::open_pipe();
  const pid_t survivor = ::fork();
  if (survivor < 0) throw std::system_error(errno, std::system_category(), "fork");
  if (survivor == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    report_read = pipes::fd();
    std::mt19937 rng(seed);
    const int fds_before = open_descriptors();
    kill_outcome out = kill_peer_during_stream(entry, b, survivor_role, rng);
    out.descriptors_leaked = open_descriptors() - fds_before;
    const auto bytes = std::as_bytes(std::span(&out, 1));
    std::error_code ec;
    pipes::write_all(report_write, bytes, ec);
    ::_exit(ec ? 1 : 0);
  }
  report_write = pipes::fd();
  pollfd ready{report_read.get(), POLLIN, 0};
  const int limit_ms = b.max_kill_delay_ms + 5000 +
                       static_cast<int>(std::chrono::milliseconds(detection_limit).count());
  std::optional<kill_outcome> got;
  if (::poll(&ready, 1, limit_ms) == 1) {
    kill_outcome out;
    if (pipes::read_full(report_read, std::as_writable_bytes(std::span(&out, 1))) == sizeof out) {
      got = out;
    }
  }
  ::kill(survivor, SIGKILL);  // a hung survivor; its victim goes with it (PR_SET_PDEATHSIG)
  while (::waitpid(survivor, nullptr, 0) < 0 && errno == EINTR) {
  }
  return got;
}

// Boost.Interprocess's message_queue guards its state with a process-shared mutex that is not
// robust (no owner-death recovery), and its send and receive lock it without a timeout: a peer
// killed while holding it blocks the survivor in the kernel for good. No API bounds that wait; the
// harness's controller ends such a run by its stall timeout. Here such a hang is counted, and
// printed, but is not a failure for this transport alone.
bool may_hang_when_killed_holding_a_lock(std::string_view id) { return id == "boost_mq"; }

TEST_P(ProcessFaultTest, killed_peer_is_an_error_within_two_seconds_never_a_partial_message) {
  const auto& entry = *GetParam();
  std::random_device seeds;
  int kills = 0;
  int hangs = 0;
  std::uint64_t checked = 0;
  std::int64_t slowest_ns = 0;
  for (const band& b : bands) {
    for (const Role survivor : {Role::leader, Role::follower}) {
      for (int trial = 0; trial < kills_per_case; ++trial) {
        const unsigned seed = seeds();
        const std::string where = std::string(b.name) + " messages, survivor " +
                                  (survivor == Role::leader ? "sending" : "receiving") + ", seed " +
                                  std::to_string(seed) + ": ";
        ++kills;
        const auto got = survive_a_kill(entry, b, survivor, seed);
        if (!got) {
          ++hangs;
          if (!may_hang_when_killed_holding_a_lock(entry.id)) {
            ADD_FAILURE() << where << "the survivor hung (no error within "
                          << b.max_kill_delay_ms + 7000 << " ms)";
          }
          continue;
        }
        const kill_outcome& out = *got;
        EXPECT_FALSE(out.mismatch) << where << out.error;
        EXPECT_FALSE(out.error_before_kill) << where << "failed before the kill: " << out.error
                                            << " (victim " << out.victim_ended << ")";
        EXPECT_STREQ(out.victim_ended, "killed by Killed") << where << out.error;
        EXPECT_STRNE(out.error, "") << where;
        EXPECT_LT(out.detection_ns, std::chrono::nanoseconds(detection_limit).count())
            << where << "noticed after " << out.detection_ns / 1000000 << " ms";
        EXPECT_EQ(out.descriptors_leaked, 0) << where << "descriptors leaked";
        checked += out.messages_checked;
        slowest_ns = std::max(slowest_ns, out.detection_ns);
      }
    }
  }
  RecordProperty("peers_killed", kills);
  RecordProperty("survivor_hangs", hangs);
  RecordProperty("messages_checked", static_cast<int>(checked));
  RecordProperty("slowest_detection_ms", static_cast<int>(slowest_ns / 1000000));
  std::printf(
      "%s: %d peers killed, %d survivors hung, %llu messages checked by surviving "
      "receivers, slowest detection %lld ms\n",
      std::string(entry.id).c_str(), kills, hangs, static_cast<unsigned long long>(checked),
      static_cast<long long>(slowest_ns / 1000000));
}

// A handler without SA_RESTART, so that blocking calls return EINTR, fired every 100 µs.
std::atomic<std::uint64_t> signals_handled{0};
static_assert(std::atomic<std::uint64_t>::is_always_lock_free);

void on_alarm(int) { signals_handled.fetch_add(1, std::memory_order_relaxed); }

class signal_storm {
 public:
  signal_storm() {
    struct sigaction action {};
    action.sa_handler = on_alarm;
    sigemptyset(&action.sa_mask);
    action.sa_flags = 0;  // no SA_RESTART
    ::sigaction(SIGALRM, &action, &previous_);
    const itimerval every_100us{{0, 100}, {0, 100}};
    ::setitimer(ITIMER_REAL, &every_100us, nullptr);
  }
  ~signal_storm() {
    const itimerval off{};
    ::setitimer(ITIMER_REAL, &off, nullptr);
    ::sigaction(SIGALRM, &previous_, nullptr);
  }
  signal_storm(const signal_storm&) = delete;
  signal_storm& operator=(const signal_storm&) = delete;

 private:
  struct sigaction previous_ {};
};

// The follower echoes `count` messages, checking each; the leader sends and checks the echoes.
void echo_under_storm(const harness::transport_entry& entry, const stream_shape& shape,
                      std::uint64_t count) {
  auto transport = make(entry, shape);
  forked_peer follower(transport, Role::follower, [&](Channel& c) {
    signal_storm storm;
    std::vector<std::byte> scratch(shape.max_size), want;
    for (std::uint64_t seq = 0; seq < count; ++seq) {
      const auto received = c.receive(scratch);
      expect_message(seq, received, want, shape);
      c.send(received);
      c.flush();
    }
    if (signals_handled.load() == 0) throw std::runtime_error("no signal reached the follower");
  });
  auto channel = transport->open(Role::leader);
  transport.reset();
  ASSERT_TRUE(follower.wait_until_open());
  const auto before = signals_handled.load();
  std::uint64_t checked = 0;
  {
    signal_storm storm;
    std::vector<std::byte> message, scratch(shape.max_size), want;
    try {
      for (std::uint64_t seq = 0; seq < count; ++seq) {
        message.resize(size_of(seq, shape));
        fill(seq, message);
        channel->send(message);
        channel->flush();
        expect_message(seq, channel->receive(scratch), want, shape);
        checked = seq + 1;
      }
    } catch (const std::exception& e) {
      ADD_FAILURE() << "message " << checked << ": " << e.what();
    }
  }
  EXPECT_EQ(follower.wait(), "") << "the follower failed";
  EXPECT_EQ(checked, count);
  const auto handled = signals_handled.load() - before;
  EXPECT_GT(handled, 10u) << "the storm did not reach the leader";
  std::printf("%s, %zu..%zu B: %llu messages echoed intact through %llu signals in the leader\n",
              std::string(entry.id).c_str(), shape.min_size, shape.max_size,
              static_cast<unsigned long long>(checked), static_cast<unsigned long long>(handled));
}

TEST_P(ProcessFaultTest, signal_storm_without_sa_restart_loses_nothing) {
  const int fds_before = open_descriptors();
  echo_under_storm(*GetParam(), {1, 4096}, 5000);
  echo_under_storm(*GetParam(), {0, 4u << 20}, 150);
  EXPECT_EQ(open_descriptors(), fds_before) << "descriptors leaked";
}

INSTANTIATE_TEST_SUITE_P(AllTransports, ProcessFaultTest,
                         ::testing::ValuesIn(harness_test::ipc_transports()),
                         [](const auto& info) { return std::string(info.param->id); });

}  // namespace
