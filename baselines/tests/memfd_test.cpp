// memfd between two processes: every size class both ways, sent and built in a loan; senders and
// receivers that die; more messages than may be in flight before the receiver reads. Then a
// receiver handed, by hand, what no honest sender passes: an unsealed or partly sealed memfd, one
// shorter than announced, a pipe, no descriptor, too many.
#include "memfd.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "baselines/transports.hpp"
#include "forked_peer.hpp"
#include "test_stream.hpp"

namespace {

using baselines::memfd_in_flight;
using transport_test::fill;
using transport_test::forked_peer;
using transport_test::is_message;

std::unique_ptr<baselines::Transport> make() {
  try {
    return baselines::make_memfd({.message_size = 8u << 20});
  } catch (const baselines::unsupported&) {
    return nullptr;
  }
}

#define SKIP_WITHOUT_MEMFD() \
  if (!make()) GTEST_SKIP() << "the kernel refuses sealable memfds here"

// The text of the exception `f` throws, or "" if it throws none.
template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

TEST(Memfd, every_size_class_both_ways) {
  SKIP_WITHOUT_MEMFD();
  EXPECT_EQ(transport_test::echo_every_size(make(), {0, 1, 4095, 4096, 65537, 1u << 20, 8u << 20}),
            "");
}

TEST(Memfd, a_message_built_in_a_loan_arrives_as_built) {
  SKIP_WITHOUT_MEMFD();
  const std::vector<std::size_t> sizes = {0, 4096, 65537, 8u << 20};
  auto [channel, peer] = forked_peer::start(
      make(), [&](baselines::Channel& c) { transport_test::echo(c, sizes.size(), 8u << 20); });
  std::vector<std::byte> scratch(1);  // never used: received messages are read in place
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    const auto loan = channel->loan(sizes[i]);
    ASSERT_TRUE(loan.has_value());
    ASSERT_EQ(loan->size(), sizes[i]);
    fill(i, *loan);
    channel->commit_loan();
    EXPECT_TRUE(is_message(i, sizes[i], channel->receive(scratch))) << sizes[i];
  }
  EXPECT_EQ(peer.wait(), "");
}

TEST(Memfd, a_received_view_stays_valid_until_the_next_receive) {
  SKIP_WITHOUT_MEMFD();
  auto [channel, peer] = forked_peer::start(make(), [](baselines::Channel& c) {
    for (std::size_t i = 0; i < 3; ++i) {
      std::vector<std::byte> message(70000);
      fill(i, message);
      c.send(message);
    }
    std::vector<std::byte> scratch(1);
    for (std::size_t i = 0; i < 3; ++i) c.receive(scratch);
  });
  std::vector<std::byte> scratch(1);
  for (std::size_t i = 0; i < 3; ++i) {
    const auto view = channel->receive(scratch);
    channel->send({});  // a send in between does not release it
    EXPECT_TRUE(is_message(i, 70000, view)) << i;
  }
  EXPECT_EQ(peer.wait(), "");
}

TEST(Memfd, a_sender_that_dies_is_peer_closed) {
  SKIP_WITHOUT_MEMFD();
  auto [channel, peer] = forked_peer::start(make(), [](baselines::Channel&) {});
  std::vector<std::byte> scratch(16);
  EXPECT_EQ(error_of([&] { channel->receive(scratch); }), "peer closed");
  EXPECT_EQ(peer.wait(), "");
}

TEST(Memfd, messages_sent_before_the_sender_left_arrive_then_peer_closed) {
  SKIP_WITHOUT_MEMFD();
  auto [channel, peer] = forked_peer::start(make(), [](baselines::Channel& c) {
    for (std::size_t i = 0; i < memfd_in_flight; ++i) {
      std::vector<std::byte> message(1000 * i + 1);
      fill(i, message);
      c.send(message);
    }
  });  // exits with every message unacknowledged
  EXPECT_EQ(peer.wait(), "");
  std::vector<std::byte> scratch(1);
  for (std::size_t i = 0; i < memfd_in_flight; ++i) {
    EXPECT_TRUE(is_message(i, 1000 * i + 1, channel->receive(scratch))) << i;
  }
  EXPECT_EQ(error_of([&] { channel->receive(scratch); }), "peer closed");
}

TEST(Memfd, a_receiver_killed_mid_stream_is_peer_closed_for_the_sender) {
  SKIP_WITHOUT_MEMFD();
  auto [channel, peer] = forked_peer::start(make(), [](baselines::Channel& c) {
    std::vector<std::byte> scratch(1);
    c.receive(scratch);
    c.receive(scratch);
    ::raise(SIGKILL);
  });
  // The sender runs out of acknowledgements (or finds the socket closed) and must not wait on.
  std::vector<std::byte> message(1u << 20);
  EXPECT_EQ(error_of([&] {
              for (int i = 0; i < 1000; ++i) channel->send(message);
            }),
            "peer closed");
  EXPECT_NE(peer.wait().find("Killed"), std::string::npos);
}

TEST(Memfd, more_messages_than_may_be_in_flight_wait_for_the_receiver_and_all_arrive) {
  SKIP_WITHOUT_MEMFD();
  constexpr std::size_t count = 3 * memfd_in_flight + 1;
  auto go = pipes::open_pipe();
  auto [channel, peer] = forked_peer::start(make(), [&](baselines::Channel& c) {
    std::byte start{};
    if (pipes::read_full(go.read_end, std::span(&start, 1)) != 1) return;
    std::vector<std::byte> scratch(1);
    for (std::size_t i = 0; i < count; ++i) {
      if (!is_message(i, 4096 + i, c.receive(scratch))) throw std::runtime_error("mismatch");
    }
  });
  std::atomic<std::size_t> sent{0};
  std::string error;
  std::thread sender([&, &channel = channel] {
    error = error_of([&] {
      for (std::size_t i = 0; i < count; ++i) {
        std::vector<std::byte> message(4096 + i);
        fill(i, message);
        channel->send(message);
        ++sent;
      }
    });
  });
  // The receiver reads nothing yet: the sender stops at the limit (a wait, not a measurement).
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(sent.load(), memfd_in_flight);
  const std::byte start{1};
  pipes::write_all(go.write_end, std::span(&start, 1));
  sender.join();
  EXPECT_EQ(error, "");
  EXPECT_EQ(sent.load(), count);
  EXPECT_EQ(peer.wait(), "");
}

// A receiving channel on one end of a socket pair whose other end the test writes notices to.
class MemfdReceiver : public ::testing::Test {
 protected:
  void SetUp() override {
    auto [ours, theirs] = pipes::open_socketpair(SOCK_SEQPACKET);
    socket_ = std::move(ours);
    channel_ = baselines::open_memfd_channel(pipes::fd(), std::move(theirs));
  }

  // What receive() throws when handed `descriptors` and `size`.
  std::string refusal(std::span<const int> descriptors, std::uint64_t size) {
    EXPECT_TRUE(baselines::send_memfd_notice(socket_, descriptors, size));
    std::vector<std::byte> scratch(1);
    return error_of([&] { channel_->receive(scratch); });
  }

  // A memfd of `size` bytes of message 0, with `seals` added.
  static pipes::fd memfd(std::size_t size, int seals) {
    pipes::fd file(::memfd_create("memfd-test", MFD_CLOEXEC | MFD_ALLOW_SEALING));
    EXPECT_TRUE(file);
    std::vector<std::byte> bytes(size);
    fill(0, bytes);
    EXPECT_EQ(::ftruncate(file.get(), static_cast<off_t>(size)), 0);
    if (size > 0) pipes::write_all(file, bytes);
    EXPECT_EQ(::fcntl(file.get(), F_ADD_SEALS, seals), 0);
    return file;
  }

  static constexpr int all_seals = F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL;

  pipes::fd socket_;
  std::unique_ptr<baselines::Channel> channel_;
};

TEST_F(MemfdReceiver, a_sealed_memfd_is_read_in_place) {
  SKIP_WITHOUT_MEMFD();
  const pipes::fd file = memfd(5000, all_seals);
  const int raw = file.get();
  ASSERT_TRUE(baselines::send_memfd_notice(socket_, std::span(&raw, 1), 5000));
  std::vector<std::byte> scratch(1);
  EXPECT_TRUE(is_message(0, 5000, channel_->receive(scratch)));
}

TEST_F(MemfdReceiver, an_unsealed_memfd_is_refused) {
  SKIP_WITHOUT_MEMFD();
  const pipes::fd file = memfd(4096, 0);
  const int raw = file.get();
  EXPECT_EQ(refusal(std::span(&raw, 1), 4096), "memfd: descriptor not sealed against writes");
}

TEST_F(MemfdReceiver, a_memfd_that_could_shrink_is_refused) {
  SKIP_WITHOUT_MEMFD();
  const pipes::fd file = memfd(4096, F_SEAL_WRITE | F_SEAL_GROW);
  const int raw = file.get();
  EXPECT_EQ(refusal(std::span(&raw, 1), 4096), "memfd: descriptor not sealed against shrinking");
}

TEST_F(MemfdReceiver, a_memfd_that_could_grow_is_refused) {
  SKIP_WITHOUT_MEMFD();
  const pipes::fd file = memfd(4096, F_SEAL_WRITE | F_SEAL_SHRINK);
  const int raw = file.get();
  EXPECT_EQ(refusal(std::span(&raw, 1), 4096), "memfd: descriptor not sealed against growing");
}

TEST_F(MemfdReceiver, a_memfd_shorter_than_announced_is_refused) {
  SKIP_WITHOUT_MEMFD();
  const pipes::fd file = memfd(4096, all_seals);
  const int raw = file.get();
  EXPECT_EQ(refusal(std::span(&raw, 1), 4097),
            "memfd: descriptor holds 4096 bytes, fewer than the 4097 announced");
}

TEST_F(MemfdReceiver, a_descriptor_that_is_not_a_memfd_is_refused) {
  SKIP_WITHOUT_MEMFD();
  const auto pipe = pipes::open_pipe();
  const int raw = pipe.read_end.get();
  EXPECT_NE(refusal(std::span(&raw, 1), 0).find("memfd: descriptor is not a memfd"),
            std::string::npos);
}

TEST_F(MemfdReceiver, a_notice_without_a_descriptor_is_refused) {
  SKIP_WITHOUT_MEMFD();
  EXPECT_EQ(refusal({}, 0), "memfd: notice without a descriptor");
}

TEST_F(MemfdReceiver, a_notice_with_two_descriptors_is_refused_and_both_are_closed) {
  SKIP_WITHOUT_MEMFD();
  const pipes::fd a = memfd(10, all_seals), b = memfd(10, all_seals);
  const int raw[] = {a.get(), b.get()};
  EXPECT_EQ(refusal(raw, 10), "memfd: notice with more than one descriptor");
}  // the descriptor leak check sees the received copies closed

TEST_F(MemfdReceiver, a_notice_with_more_descriptors_than_fit_is_refused) {
  SKIP_WITHOUT_MEMFD();
  const pipes::fd a = memfd(10, all_seals), b = memfd(10, all_seals), c = memfd(10, all_seals);
  const int raw[] = {a.get(), b.get(), c.get()};
  EXPECT_NE(refusal(raw, 10).find("memfd: control message truncated"), std::string::npos);
}

TEST_F(MemfdReceiver, what_a_peer_sent_before_it_closed_arrives_though_it_left_replies_unread) {
  SKIP_WITHOUT_MEMFD();
  // The kernel reports such a close as ECONNRESET once, ahead of the packets still queued.
  const pipes::fd good = memfd(100, all_seals), bad = memfd(100, 0);
  const int sealed = good.get(), unsealed = bad.get();
  ASSERT_TRUE(baselines::send_memfd_notice(socket_, std::span(&sealed, 1), 100));
  ASSERT_TRUE(baselines::send_memfd_notice(socket_, std::span(&unsealed, 1), 100));
  ASSERT_TRUE(baselines::send_memfd_notice(socket_, std::span(&sealed, 1), 100));
  std::vector<std::byte> scratch(1);
  EXPECT_TRUE(is_message(0, 100, channel_->receive(scratch)));
  // Acknowledges the first (the test leaves it unread), then refuses the second.
  EXPECT_EQ(error_of([&] { channel_->receive(scratch); }),
            "memfd: descriptor not sealed against writes");
  socket_.close();
  EXPECT_TRUE(is_message(0, 100, channel_->receive(scratch)));
  EXPECT_EQ(error_of([&] { channel_->receive(scratch); }), "peer closed");
}

TEST_F(MemfdReceiver, a_closed_socket_is_peer_closed) {
  SKIP_WITHOUT_MEMFD();
  socket_.close();
  std::vector<std::byte> scratch(1);
  EXPECT_EQ(error_of([&] { channel_->receive(scratch); }), "peer closed");
}

}  // namespace
