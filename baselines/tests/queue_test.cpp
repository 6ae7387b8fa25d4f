// boost_mq and posix_mq between two processes: messages of sizes around their chunk size (and up
// to 4 MiB) arrive intact in both directions, and the configuration they report is the one used.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <vector>

#include "baselines/transports.hpp"
#include "boost_mq.hpp"
#include "forked_peer.hpp"
#include "posix_mq.hpp"
#include "test_stream.hpp"

namespace {

using transport_test::fill;
using transport_test::forked_peer;
using transport_test::is_message;

constexpr std::size_t largest = 4u << 20;

std::vector<std::size_t> sizes_around(std::size_t chunk) {
  const std::size_t inline_max = chunk - 8;
  return {0,      1,         inline_max - 1, inline_max, inline_max + 1, chunk - 1,
          chunk,  chunk + 1, 2 * chunk - 1,  2 * chunk,  2 * chunk + 1,  7 * chunk + 13,
          largest};
}

void expect_echoes(std::unique_ptr<baselines::Transport> transport,
                   const std::vector<std::size_t>& sizes) {
  auto [channel, peer] = forked_peer::start(std::move(transport), [&](baselines::Channel& c) {
    transport_test::echo(c, sizes.size(), largest);
  });
  std::vector<std::byte> scratch(largest);
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    std::vector<std::byte> message(sizes[i]);
    fill(i, message);
    channel->send(message);
    EXPECT_TRUE(is_message(i, sizes[i], channel->receive(scratch))) << sizes[i] << " bytes";
  }
  EXPECT_EQ(peer.wait(), "");
}

TEST(BoostMq, sizes_around_the_slot_size_arrive_intact_both_ways) {
  expect_echoes(baselines::make_boost_mq({.message_size = largest}),
                sizes_around(baselines::boost_mq_slot_size));
}

TEST(BoostMq, describes_its_slots) {
  const auto text = baselines::make_boost_mq({})->describe();
  EXPECT_NE(text.find(std::to_string(baselines::boost_mq_slots) + " slots x " +
                      std::to_string(baselines::boost_mq_slot_size >> 10) + " KiB"),
            std::string::npos)
      << text;
}

TEST(PosixMq, sizes_around_the_message_size_limit_arrive_intact_both_ways) {
  const auto geometry = baselines::choose_posix_mq_geometry();
  expect_echoes(baselines::make_posix_mq({.message_size = largest}),
                sizes_around(static_cast<std::size_t>(geometry.message_size)));
}

TEST(PosixMq, stays_within_the_system_limits_and_says_so) {
  const auto g = baselines::choose_posix_mq_geometry();
  EXPECT_LE(g.max_messages, g.system_msg_max);
  EXPECT_LE(g.message_size, g.system_msgsize_max);
  if (g.rlimit_bytes >= 0) {
    EXPECT_LE(2 * g.max_messages * g.message_size, g.rlimit_bytes);
  }
  const auto text = baselines::make_posix_mq({})->describe();
  EXPECT_NE(text.find(std::to_string(g.max_messages) + " x " + std::to_string(g.message_size)),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("RLIMIT_MSGQUEUE"), std::string::npos) << text;
}

// Lowers the soft RLIMIT_MSGQUEUE for the lifetime of the object (any user may).
class scoped_msgqueue_limit {
 public:
  explicit scoped_msgqueue_limit(rlim_t bytes) {
    ::getrlimit(RLIMIT_MSGQUEUE, &saved_);
    rlimit lowered = saved_;
    lowered.rlim_cur = std::min(bytes, saved_.rlim_max);
    ::setrlimit(RLIMIT_MSGQUEUE, &lowered);
  }
  ~scoped_msgqueue_limit() { ::setrlimit(RLIMIT_MSGQUEUE, &saved_); }

 private:
  rlimit saved_{};
};

TEST(PosixMq, fits_fewer_messages_into_a_lower_rlimit) {
  const auto system = baselines::choose_posix_mq_geometry();
  const scoped_msgqueue_limit limit(2 * 4 * (system.message_size + 128));
  const auto g = baselines::choose_posix_mq_geometry();
  // Only the arithmetic: the limit counts every queue of this user, including those of tests
  // running at the same time, so opening queues under it here would be flaky.
  EXPECT_EQ(g.max_messages, std::min<long>(4, system.max_messages));
}

TEST(PosixMq, too_small_a_limit_is_a_clear_skip) {
  const scoped_msgqueue_limit limit(1000);
  try {
    baselines::make_posix_mq({});
    FAIL() << "expected baselines::unsupported";
  } catch (const baselines::unsupported& e) {
    EXPECT_NE(std::string(e.what()).find("RLIMIT_MSGQUEUE"), std::string::npos) << e.what();
  }
}

}  // namespace
