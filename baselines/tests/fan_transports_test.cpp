// The worker-pool transports (fan_transports.hpp) with a real hub and W real workers, each a
// forked process: in fanout every message reaches exactly one worker intact and every worker
// takes exactly one end marker; in fanin every message reaches the hub intact and in each
// worker's order, and the hub sees W end markers; a worker killed before it reads never makes
// another receive wrong data. Every process runs under alarm(), so a bug fails, never hangs.
#include "baselines/fan_transports.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "baselines/channel.hpp"
#include "pipes/fd.hpp"

namespace {

using baselines::FanParams;
using baselines::FanTransport;

constexpr unsigned alarm_seconds = 60;
constexpr std::uint64_t end_record = ~std::uint64_t{0};
// Exit codes of the children.
constexpr int ok = 0, failed = 1, peer_gone = 2, wrong_data = 3;

struct fan_factory {
  const char* name;
  std::unique_ptr<FanTransport> (*make)(const FanParams&);
};

const fan_factory factories[] = {
    {"shm_ring", &baselines::make_shm_ring_fan},
    {"zmq_ipc", &baselines::make_zmq_ipc_fan},
    {"boost_mq", &baselines::make_boost_mq_fan},
    {"posix_mq", &baselines::make_posix_mq_fan},
};

const std::size_t sizes[] = {1, 4096, 65536, 1u << 20};

// Messages per size: the sequence number must fit the first byte of a 1-byte message (fanin
// numbers them worker * count + k, under 256 for 4 workers).
std::size_t count_for(std::size_t size) { return size >= (1u << 20) ? 8 : 48; }

// Message `seq` of `size` bytes: seq's little-endian bytes first (as many as fit), then a
// pattern that depends on seq and the position.
std::vector<std::byte> make_message(std::uint64_t seq, std::size_t size) {
  std::vector<std::byte> m(size);
  std::memcpy(m.data(), &seq, std::min<std::size_t>(size, sizeof seq));
  for (std::size_t j = sizeof seq; j < size; ++j) {
    m[j] = static_cast<std::byte>(seq * 131 + j * 7 + (j >> 9));
  }
  return m;
}

// The sequence number `got` carries, or throws if any byte is not the one make_message made.
std::uint64_t check_message(std::span<const std::byte> got, std::size_t size) {
  if (got.size() != size) throw std::invalid_argument("wrong size " + std::to_string(got.size()));
  std::uint64_t seq = 0;
  std::memcpy(&seq, got.data(), std::min<std::size_t>(size, sizeof seq));
  const auto want = make_message(seq, size);
  if (!std::equal(got.begin(), got.end(), want.begin())) {
    throw std::invalid_argument("wrong bytes in message " + std::to_string(seq));
  }
  return seq;
}

void report(const pipes::fd& out, std::uint64_t record) {
  pipes::write_all(out, std::as_bytes(std::span(&record, 1)));
}

// Forks a child that runs `body` and exits with its code, or with `wrong_data`, `peer_gone` or
// `failed` if it throws (the text on stderr).
pid_t spawn(const std::function<int()>& body) {
  const pid_t pid = ::fork();
  if (pid != 0) return pid;
  ::alarm(alarm_seconds);
  ::signal(SIGPIPE, SIG_IGN);
  int code = failed;
  try {
    code = body();
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "child: %s\n", e.what());
    code = wrong_data;
  } catch (const std::exception& e) {
    const bool gone = std::strstr(e.what(), "closed") || std::strstr(e.what(), "gone");
    std::fprintf(stderr, "child: %s\n", e.what());
    code = gone ? peer_gone : failed;
  }
  ::_exit(code);
}

int wait_exit(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}

// Everything written to `in` so far (the writers have exited), as records.
std::vector<std::uint64_t> drain(const pipes::fd& in) {
  ::fcntl(in.get(), F_SETFL, O_NONBLOCK);
  std::vector<std::uint64_t> records;
  std::uint64_t r = 0;
  while (::read(in.get(), &r, sizeof r) == static_cast<ssize_t>(sizeof r)) records.push_back(r);
  return records;
}

// Each side reports one record once open.
void await_opened(const pipes::fd& opened, std::size_t count) {
  std::uint64_t record;
  for (std::size_t i = 0; i < count; ++i) {
    ASSERT_EQ(pipes::read_full(opened, std::as_writable_bytes(std::span(&record, 1))),
              sizeof record)
        << "a side ended before it was open";
  }
}

class FanTest : public ::testing::TestWithParam<fan_factory> {
 protected:
  void SetUp() override { ::alarm(5 * alarm_seconds); }
  void TearDown() override { ::alarm(0); }

  std::unique_ptr<FanTransport> make(std::size_t size, std::size_t workers, bool fanin) {
    return GetParam().make({.message_size = size, .workers = workers, .fanin = fanin});
  }
};

void fanout(const fan_factory& factory, std::size_t workers, std::size_t size) {
  SCOPED_TRACE(std::string(factory.name) + " fanout, " + std::to_string(workers) + " workers, " +
               std::to_string(size) + " B");
  std::unique_ptr<FanTransport> transport;
  try {
    transport = factory.make({.message_size = size, .workers = workers, .fanin = false});
  } catch (const baselines::unsupported& e) {
    std::printf("skipped: %s\n", e.what());
    return;
  }
  const std::size_t count = count_for(size);
  auto opened = pipes::open_pipe();
  std::vector<pipes::pipe_fds> reports;
  for (std::size_t i = 0; i < workers; ++i) reports.push_back(pipes::open_pipe());
  const pid_t hub = spawn([&] {
    auto channel = transport->open_hub();
    transport.reset();
    report(opened.write_end, 0);
    for (std::size_t k = 0; k < count; ++k) channel->send(make_message(k, size));
    channel->send_end();
    return ok;
  });
  std::vector<pid_t> pids;
  for (std::size_t i = 0; i < workers; ++i) {
    pids.push_back(spawn([&, i] {
      auto channel = transport->open_worker(i);
      transport.reset();
      report(opened.write_end, 0);
      std::vector<std::byte> scratch(size);
      for (;;) {
        const auto got = channel->receive(scratch);
        if (got.empty()) break;
        report(reports[i].write_end, check_message(got, size));
      }
      report(reports[i].write_end, end_record);
      return ok;
    }));
  }
  await_opened(opened.read_end, workers + 1);
  transport.reset();
  EXPECT_EQ(wait_exit(hub), ok);
  std::map<std::uint64_t, int> seen;
  for (std::size_t i = 0; i < workers; ++i) {
    EXPECT_EQ(wait_exit(pids[i]), ok) << "worker " << i;
    const auto records = drain(reports[i].read_end);
    ASSERT_FALSE(records.empty()) << "worker " << i;
    EXPECT_EQ(records.back(), end_record) << "worker " << i << " took no end marker";
    for (std::size_t r = 0; r + 1 < records.size(); ++r) {
      EXPECT_NE(records[r], end_record) << "worker " << i << " went on after its end marker";
      ++seen[records[r]];
    }
  }
  EXPECT_EQ(seen.size(), count);
  for (const auto& [seq, times] : seen) {
    EXPECT_LT(seq, count);
    EXPECT_EQ(times, 1) << "message " << seq;
  }
}

void fanin(const fan_factory& factory, std::size_t workers, std::size_t size) {
  SCOPED_TRACE(std::string(factory.name) + " fanin, " + std::to_string(workers) + " workers, " +
               std::to_string(size) + " B");
  std::unique_ptr<FanTransport> transport;
  try {
    transport = factory.make({.message_size = size, .workers = workers, .fanin = true});
  } catch (const baselines::unsupported& e) {
    std::printf("skipped: %s\n", e.what());
    return;
  }
  const std::size_t count = count_for(size);
  auto opened = pipes::open_pipe();
  auto hub_report = pipes::open_pipe();
  const pid_t hub = spawn([&] {
    auto channel = transport->open_hub();
    transport.reset();
    report(opened.write_end, 0);
    std::vector<std::byte> scratch(size);
    for (std::size_t ends = 0; ends < workers;) {
      const auto got = channel->receive(scratch);
      if (got.empty()) {
        ++ends;
        report(hub_report.write_end, end_record);
      } else {
        report(hub_report.write_end, check_message(got, size));
      }
    }
    return ok;
  });
  std::vector<pid_t> pids;
  for (std::size_t i = 0; i < workers; ++i) {
    pids.push_back(spawn([&, i] {
      auto channel = transport->open_worker(i);
      transport.reset();
      report(opened.write_end, 0);
      for (std::size_t k = 0; k < count; ++k) channel->send(make_message(i * count + k, size));
      channel->send({});
      return ok;
    }));
  }
  await_opened(opened.read_end, workers + 1);
  transport.reset();
  for (std::size_t i = 0; i < workers; ++i) EXPECT_EQ(wait_exit(pids[i]), ok) << "worker " << i;
  EXPECT_EQ(wait_exit(hub), ok);
  std::vector<std::size_t> next(workers, 0);
  std::size_t ends = 0;
  for (const std::uint64_t r : drain(hub_report.read_end)) {
    if (r == end_record) {
      ++ends;
      continue;
    }
    const std::size_t worker = r / count, k = r % count;
    ASSERT_LT(worker, workers) << r;
    EXPECT_EQ(k, next[worker]) << "worker " << worker << "'s messages out of order";
    next[worker] = k + 1;
  }
  EXPECT_EQ(ends, workers);
  for (std::size_t i = 0; i < workers; ++i) EXPECT_EQ(next[i], count) << "worker " << i;
}

TEST_P(FanTest, fanout_delivers_each_message_to_exactly_one_worker_and_one_end_to_each) {
  for (const std::size_t workers : {1, 2, 4}) {
    for (const std::size_t size : sizes) fanout(GetParam(), workers, size);
  }
}

TEST_P(FanTest, fanin_delivers_every_message_in_each_workers_order_and_w_ends) {
  for (const std::size_t workers : {1, 2, 4}) {
    for (const std::size_t size : sizes) fanin(GetParam(), workers, size);
  }
}

TEST_P(FanTest, a_worker_killed_before_it_reads_makes_no_other_receive_wrong_data) {
  constexpr std::size_t workers = 3, size = 4096, count = 200;
  auto transport = make(size, workers, false);
  auto opened = pipes::open_pipe();
  std::vector<pipes::pipe_fds> reports;
  for (std::size_t i = 0; i < workers; ++i) reports.push_back(pipes::open_pipe());
  const pid_t hub = spawn([&] {
    auto channel = transport->open_hub();
    transport.reset();
    report(opened.write_end, 0);
    for (std::size_t k = 0; k < count; ++k) channel->send(make_message(k, size));
    channel->send_end();
    return ok;
  });
  std::vector<pid_t> pids;
  for (std::size_t i = 0; i < workers; ++i) {
    pids.push_back(spawn([&, i] {
      auto channel = transport->open_worker(i);
      transport.reset();
      report(opened.write_end, 0);
      if (i == 0) ::raise(SIGKILL);
      std::vector<std::byte> scratch(size);
      for (;;) {
        const auto got = channel->receive(scratch);
        if (got.empty()) break;
        report(reports[i].write_end, check_message(got, size));
      }
      return ok;
    }));
  }
  await_opened(opened.read_end, workers + 1);
  transport.reset();
  // The hub may finish or fail for the worker it lost; the others may finish or fail because
  // the hub has gone; nobody may see wrong data.
  const int hub_exit = wait_exit(hub);
  EXPECT_TRUE(hub_exit == ok || hub_exit == peer_gone) << hub_exit;
  EXPECT_EQ(wait_exit(pids[0]), 128 + SIGKILL);
  std::map<std::uint64_t, int> seen;
  for (std::size_t i = 1; i < workers; ++i) {
    const int code = wait_exit(pids[i]);
    EXPECT_TRUE(code == ok || code == peer_gone) << "worker " << i << ": " << code;
    for (const std::uint64_t r : drain(reports[i].read_end)) ++seen[r];
  }
  for (const auto& [seq, times] : seen) {
    EXPECT_LT(seq, count);
    EXPECT_EQ(times, 1) << "message " << seq;
  }
}

TEST_P(FanTest, describes_itself) {
  try {
    EXPECT_FALSE(make(4096, 2, false)->describe().empty());
    EXPECT_FALSE(make(1u << 20, 2, true)->describe().empty());
  } catch (const baselines::unsupported& e) {
    GTEST_SKIP() << e.what();
  }
}

INSTANTIATE_TEST_SUITE_P(Pools, FanTest, ::testing::ValuesIn(factories),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
