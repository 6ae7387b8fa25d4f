// No transport leaves anything behind: after a normal run, and after a run whose peer was
// SIGKILLed, none of the names a transport created exists any more in /dev/shm, the POSIX queue
// namespace (/dev/mqueue when mounted) or the temporary directory. The names are unguessable and
// the resources owner-only while they exist.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <mqueue.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "baselines/transports.hpp"
#include "forked_peer.hpp"
#include "test_stream.hpp"
#include "unique_name.hpp"

namespace {

namespace fs = std::filesystem;
using baselines::named_resource;
using transport_test::forked_peer;

struct created {
  named_resource kind;
  std::string name;
  int mode;  // permission bits while it existed, or -1 if it could not be read
};
std::vector<created> seen;

fs::path shm_path(const std::string& name) {
  return fs::path("/dev/shm") / (name[0] == '/' ? name.substr(1) : name);
}

int mode_of(named_resource kind, const std::string& name) {
  struct stat st {};
  if (kind == named_resource::message_queue) {
    const mqd_t q = ::mq_open(name.c_str(), O_RDONLY);
    if (q == static_cast<mqd_t>(-1)) return -1;
    const int r = ::fstat(q, &st);  // an mqd_t is a descriptor on Linux
    ::mq_close(q);
    return r == 0 ? static_cast<int>(st.st_mode & 07777) : -1;
  }
  const fs::path path = kind == named_resource::shm_segment ? shm_path(name) : fs::path(name);
  return ::stat(path.c_str(), &st) == 0 ? static_cast<int>(st.st_mode & 07777) : -1;
}

void record(named_resource kind, const std::string& name) noexcept {
  seen.push_back({kind, name, mode_of(kind, name)});
}

bool still_exists(const created& c) {
  if (c.kind == named_resource::message_queue) {
    const mqd_t q = ::mq_open(c.name.c_str(), O_RDONLY);
    if (q != static_cast<mqd_t>(-1)) {
      ::mq_close(q);
      return true;
    }
    return errno != ENOENT;
  }
  std::error_code ec;
  return fs::exists(c.kind == named_resource::shm_segment ? shm_path(c.name) : fs::path(c.name),
                    ec);
}

std::set<std::string> entries(const fs::path& dir) {
  std::set<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) out.insert(e.path().filename());
  return out;
}

struct factory {
  const char* name;
  std::unique_ptr<baselines::Transport> (*make)(const baselines::TransportParams&);
  int named_resources;  // how many a transport creates
};

const factory factories[] = {
    {"boost_mq", &baselines::make_boost_mq, 2},
    {"posix_mq", &baselines::make_posix_mq, 2},
    {"shm_ring", &baselines::make_shm_ring, 0},
    {"zmq_ipc", &baselines::make_zmq_ipc, 1},
    {"zmq_tcp", &baselines::make_zmq_tcp, 0},
    {"shm_ring_inplace", &baselines::make_shm_ring_inplace, 0},
    {"cma", &baselines::make_cma, 0},
    {"cma_push", &baselines::make_cma_push, 0},
    {"memfd", &baselines::make_memfd, 0},
    {"tcp", &baselines::make_tcp, 0},
};

class HygieneTest : public ::testing::TestWithParam<factory> {
 protected:
  void SetUp() override {
    // A private temporary directory, so that other tests running at the same time do not count.
    std::string dir = (fs::temp_directory_path() / "pipebench-hygiene-XXXXXX").string();
    ASSERT_NE(::mkdtemp(dir.data()), nullptr);
    private_tmp_ = dir;
    saved_tmpdir_ = std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "";
    ::setenv("TMPDIR", private_tmp_.c_str(), 1);
    seen.clear();
    baselines::set_creation_observer(&record);
    shm_before_ = entries("/dev/shm");
  }

  void TearDown() override {
    baselines::set_creation_observer(nullptr);
    if (saved_tmpdir_.empty()) {
      ::unsetenv("TMPDIR");
    } else {
      ::setenv("TMPDIR", saved_tmpdir_.c_str(), 1);
    }
    std::error_code ec;
    fs::remove_all(private_tmp_, ec);
  }

  std::unique_ptr<baselines::Transport> make() const {
    return GetParam().make({.message_size = 1u << 20});
  }

  void expect_nothing_left() {
    EXPECT_EQ(static_cast<int>(seen.size()), GetParam().named_resources);
    for (const auto& c : seen) EXPECT_FALSE(still_exists(c)) << c.name;
    EXPECT_TRUE(entries(private_tmp_).empty()) << "the temporary directory is not empty";
    // Other processes may create and remove their own entries meanwhile; none of ours is new.
    for (const auto& name : entries("/dev/shm")) {
      if (shm_before_.count(name) == 0) {
        for (const auto& c : seen) EXPECT_NE(shm_path(c.name).filename(), name);
      }
    }
    for (const auto& name : entries("/dev/mqueue")) {
      for (const auto& c : seen) EXPECT_NE("/" + name, c.name);
    }
  }

  fs::path private_tmp_;
  std::string saved_tmpdir_;
  std::set<std::string> shm_before_;
};

TEST_P(HygieneTest, nothing_is_left_after_a_normal_run) {
  {
    auto [channel, peer] = forked_peer::start(
        make(), [](baselines::Channel& c) { transport_test::echo(c, 20, 1u << 20); });
    std::vector<std::byte> message(70000), scratch(1u << 20);
    for (int i = 0; i < 20; ++i) {
      channel->send(message);
      channel->receive(scratch);
    }
    EXPECT_EQ(peer.wait(), "");
  }
  expect_nothing_left();
}

TEST_P(HygieneTest, nothing_is_left_after_the_peer_is_killed) {
  {
    auto [channel, peer] = forked_peer::start(make(), [](baselines::Channel& c) {
      transport_test::echo(c, 5, 1u << 20);
      ::raise(SIGKILL);
    });
    std::vector<std::byte> message(70000), scratch(1u << 20);
    EXPECT_THROW(
        for (int i = 0; i < 100; ++i) {
          channel->send(message);
          channel->receive(scratch);
        },
        std::runtime_error);
    EXPECT_NE(peer.wait().find("Killed"), std::string::npos);
  }
  expect_nothing_left();
}

TEST_P(HygieneTest, nothing_is_left_when_the_peer_dies_before_opening) {
  {
    auto transport = make();
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) ::_exit(0);  // a child that never opens its side
    int status = 0;
    ::waitpid(pid, &status, 0);
  }
  expect_nothing_left();
}

TEST_P(HygieneTest, named_resources_are_owner_only) {
  make().reset();
  for (const auto& c : seen) {
    const int expected = c.kind == named_resource::directory ? 0700 : 0600;
    EXPECT_EQ(c.mode, expected) << c.name;
  }
}

INSTANTIATE_TEST_SUITE_P(Rivals, HygieneTest, ::testing::ValuesIn(factories),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(UniqueName, carries_128_random_bits_and_never_repeats) {
  std::set<std::string> names;
  std::set<char> digits_seen[32];
  for (int i = 0; i < 2000; ++i) {
    const std::string name = baselines::unique_name("/p-");
    ASSERT_EQ(name.size(), 3u + 32u);
    ASSERT_EQ(name.substr(0, 3), "/p-");
    for (std::size_t d = 0; d < 32; ++d) {
      const char c = name[3 + d];
      ASSERT_TRUE((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) << name;
      digits_seen[d].insert(c);
    }
    names.insert(name);
  }
  EXPECT_EQ(names.size(), 2000u);
  // Every position takes all 16 values over 2000 draws (a constant or counter part would not).
  for (const auto& s : digits_seen) EXPECT_EQ(s.size(), 16u);
}

}  // namespace
