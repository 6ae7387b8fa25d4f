// The two memfd transports between two processes (memfd, a reused pool; memfd_sealed, a fresh
// sealed memfd per message): every size class both ways, sent and built in a loan; senders and
// receivers that die; more messages than may be in flight before the receiver reads. Then each
// receiver handed, by hand, what no honest sender passes: a memfd missing a seal it relies on,
// one shorter than announced, a pipe, no descriptor, too many, a slot it was never given.
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
#include <fstream>
#include <set>
#include <sstream>
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

using factory = std::unique_ptr<baselines::Transport> (*)(const baselines::TransportParams&);

// The transport `f` makes, or nullptr where the kernel refuses it.
std::unique_ptr<baselines::Transport> make_transport(factory f) {
  try {
    return f({.message_size = 8u << 20});
  } catch (const baselines::unsupported&) {
    return nullptr;
  }
}

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

// The tests every memfd transport passes, run once per transport.
class Memfd : public ::testing::TestWithParam<factory> {
 protected:
  void SetUp() override {
    if (!make()) GTEST_SKIP() << "the kernel refuses these memfds here";
  }
  std::unique_ptr<baselines::Transport> make() const { return make_transport(GetParam()); }
};

INSTANTIATE_TEST_SUITE_P(Transports, Memfd,
                         ::testing::Values(&baselines::make_memfd, &baselines::make_memfd_sealed),
                         [](const auto& info) {
                           return info.param == &baselines::make_memfd ? "pooled" : "sealed";
                         });

TEST_P(Memfd, every_size_class_both_ways) {
  EXPECT_EQ(transport_test::echo_every_size(make(), {0, 1, 4095, 4096, 65537, 1u << 20, 8u << 20}),
            "");
}

TEST_P(Memfd, a_message_built_in_a_loan_arrives_as_built) {
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

TEST_P(Memfd, a_received_view_stays_valid_until_the_next_receive) {
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

TEST_P(Memfd, a_sender_that_dies_is_peer_closed) {
  auto [channel, peer] = forked_peer::start(make(), [](baselines::Channel&) {});
  std::vector<std::byte> scratch(16);
  EXPECT_EQ(error_of([&] { channel->receive(scratch); }), "peer closed");
  EXPECT_EQ(peer.wait(), "");
}

TEST_P(Memfd, messages_sent_before_the_sender_left_arrive_then_peer_closed) {
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

TEST_P(Memfd, a_receiver_killed_mid_stream_is_peer_closed_for_the_sender) {
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

TEST_P(Memfd, more_messages_than_may_be_in_flight_wait_for_the_receiver_and_all_arrive) {
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

// A receiving channel, made by `open`, on one end of a socket pair whose other end the test
// writes notices to.
template <auto open>
class Receiver : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!make_transport(&baselines::make_memfd_sealed))
      GTEST_SKIP() << "the kernel refuses sealing here";
    auto [ours, theirs] = pipes::open_socketpair(SOCK_SEQPACKET);
    socket_ = std::move(ours);
    channel_ = open(pipes::fd(), std::move(theirs));
  }

  // What receive() throws when handed `descriptors`, `size` and `slot`.
  std::string refusal(std::span<const int> descriptors, std::uint64_t size,
                      std::uint32_t slot = 0) {
    EXPECT_TRUE(baselines::send_memfd_notice(socket_, descriptors, size, slot));
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

using MemfdReceiver = Receiver<&baselines::open_sealed_memfd_channel>;
using PooledMemfdReceiver = Receiver<&baselines::open_memfd_channel>;

TEST_F(MemfdReceiver, a_sealed_memfd_is_read_in_place) {
  const pipes::fd file = memfd(5000, all_seals);
  const int raw = file.get();
  ASSERT_TRUE(baselines::send_memfd_notice(socket_, std::span(&raw, 1), 5000));
  std::vector<std::byte> scratch(1);
  EXPECT_TRUE(is_message(0, 5000, channel_->receive(scratch)));
}

TEST_F(MemfdReceiver, an_unsealed_memfd_is_refused) {
  const pipes::fd file = memfd(4096, 0);
  const int raw = file.get();
  EXPECT_EQ(refusal(std::span(&raw, 1), 4096), "memfd: descriptor not sealed against writes");
}

TEST_F(MemfdReceiver, a_memfd_that_could_shrink_is_refused) {
  const pipes::fd file = memfd(4096, F_SEAL_WRITE | F_SEAL_GROW);
  const int raw = file.get();
  EXPECT_EQ(refusal(std::span(&raw, 1), 4096), "memfd: descriptor not sealed against shrinking");
}

TEST_F(MemfdReceiver, a_memfd_that_could_grow_is_refused) {
  const pipes::fd file = memfd(4096, F_SEAL_WRITE | F_SEAL_SHRINK);
  const int raw = file.get();
  EXPECT_EQ(refusal(std::span(&raw, 1), 4096), "memfd: descriptor not sealed against growing");
}

TEST_F(MemfdReceiver, a_memfd_shorter_than_announced_is_refused) {
  const pipes::fd file = memfd(4096, all_seals);
  const int raw = file.get();
  EXPECT_EQ(refusal(std::span(&raw, 1), 4097),
            "memfd: descriptor holds 4096 bytes, fewer than the 4097 announced");
}

TEST_F(MemfdReceiver, a_descriptor_that_is_not_a_memfd_is_refused) {
  const auto pipe = pipes::open_pipe();
  const int raw = pipe.read_end.get();
  EXPECT_NE(refusal(std::span(&raw, 1), 0).find("memfd: descriptor is not a memfd"),
            std::string::npos);
}

TEST_F(MemfdReceiver, a_notice_without_a_descriptor_is_refused) {
  EXPECT_EQ(refusal({}, 0), "memfd: notice without a descriptor");
}

TEST_F(MemfdReceiver, a_notice_with_two_descriptors_is_refused_and_both_are_closed) {
  const pipes::fd a = memfd(10, all_seals), b = memfd(10, all_seals);
  const int raw[] = {a.get(), b.get()};
  EXPECT_EQ(refusal(raw, 10), "memfd: notice with more than one descriptor");
}  // the descriptor leak check sees the received copies closed

TEST_F(MemfdReceiver, a_notice_with_more_descriptors_than_fit_is_refused) {
  const pipes::fd a = memfd(10, all_seals), b = memfd(10, all_seals), c = memfd(10, all_seals);
  const int raw[] = {a.get(), b.get(), c.get()};
  EXPECT_NE(refusal(raw, 10).find("memfd: control message truncated"), std::string::npos);
}

TEST_F(MemfdReceiver, what_a_peer_sent_before_it_closed_arrives_though_it_left_replies_unread) {
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
  socket_.close();
  std::vector<std::byte> scratch(1);
  EXPECT_EQ(error_of([&] { channel_->receive(scratch); }), "peer closed");
}

// The pool's receiver relies on the seals against shrinking and growing only: the contents of a
// slot change from message to message, under the flow control.
TEST_F(PooledMemfdReceiver, a_slot_is_read_in_place_and_again_after_its_sender_refills_it) {
  const pipes::fd file = memfd(8192, F_SEAL_SHRINK | F_SEAL_GROW);
  const int raw = file.get();
  ASSERT_TRUE(baselines::send_memfd_notice(socket_, std::span(&raw, 1), 5000, 2));
  std::vector<std::byte> scratch(1);
  EXPECT_TRUE(is_message(0, 5000, channel_->receive(scratch)));
  std::vector<std::byte> next(8192);
  fill(1, next);
  ASSERT_EQ(::pwrite(file.get(), next.data(), next.size(), 0), 8192);
  ASSERT_TRUE(baselines::send_memfd_notice(socket_, {}, 8192, 2));  // the slot it already has
  EXPECT_TRUE(is_message(1, 8192, channel_->receive(scratch)));
}

TEST_F(PooledMemfdReceiver, a_memfd_that_could_shrink_is_refused) {
  const pipes::fd file = memfd(4096, F_SEAL_GROW);
  const int raw = file.get();
  EXPECT_EQ(refusal(std::span(&raw, 1), 4096), "memfd: descriptor not sealed against shrinking");
}

TEST_F(PooledMemfdReceiver, a_memfd_that_could_grow_is_refused) {
  const pipes::fd file = memfd(4096, F_SEAL_SHRINK);
  const int raw = file.get();
  EXPECT_EQ(refusal(std::span(&raw, 1), 4096), "memfd: descriptor not sealed against growing");
}

TEST_F(PooledMemfdReceiver, a_memfd_shorter_than_announced_is_refused) {
  const pipes::fd file = memfd(4096, all_seals);
  const int raw = file.get();
  EXPECT_EQ(refusal(std::span(&raw, 1), 4097),
            "memfd: descriptor holds 4096 bytes, fewer than the 4097 announced");
}

TEST_F(PooledMemfdReceiver, a_notice_for_a_slot_never_given_a_memfd_is_refused) {
  EXPECT_EQ(refusal({}, 0, 1), "memfd: notice for slot 1, which no memfd was passed for");
}

TEST_F(PooledMemfdReceiver, a_notice_beyond_the_pool_is_refused) {
  const pipes::fd file = memfd(4096, all_seals);
  const int raw = file.get();
  EXPECT_EQ(refusal(std::span(&raw, 1), 4096, memfd_in_flight),
            "memfd: notice for slot 4, beyond the pool's 4");
}

TEST_F(PooledMemfdReceiver, a_notice_larger_than_its_slot_is_refused) {
  const pipes::fd file = memfd(4096, all_seals);
  const int raw = file.get();
  ASSERT_TRUE(baselines::send_memfd_notice(socket_, std::span(&raw, 1), 4096, 0));
  std::vector<std::byte> scratch(1);
  EXPECT_TRUE(is_message(0, 4096, channel_->receive(scratch)));
  EXPECT_EQ(refusal({}, 4097, 0), "memfd: notice of 4097 bytes for a slot of 4096");
}

TEST_F(PooledMemfdReceiver, a_descriptor_that_is_not_a_memfd_is_refused) {
  const auto pipe = pipes::open_pipe();
  const int raw = pipe.read_end.get();
  EXPECT_NE(refusal(std::span(&raw, 1), 0).find("memfd: descriptor is not a memfd"),
            std::string::npos);
}

TEST_F(PooledMemfdReceiver, a_notice_with_two_descriptors_is_refused_and_both_are_closed) {
  const pipes::fd a = memfd(10, all_seals), b = memfd(10, all_seals);
  const int raw[] = {a.get(), b.get()};
  EXPECT_EQ(refusal(raw, 10), "memfd: notice with more than one descriptor");
}

// The inode of the file mapped at `address` (from /proc/self/maps), or 0 if none is.
unsigned long inode_mapped_at(const void* address) {
  std::ifstream maps("/proc/self/maps");
  const auto at = reinterpret_cast<std::uintptr_t>(address);
  for (std::string line; std::getline(maps, line);) {
    std::istringstream fields(line);
    std::uintptr_t start = 0, end = 0;
    char dash = 0;
    std::string permissions, offset, device;
    unsigned long inode = 0;
    fields >> std::hex >> start >> dash >> end >> permissions >> offset >> device >> std::dec >>
        inode;
    if (start <= at && at < end) return inode;
  }
  return 0;
}

// The pooled sender reuses its memfds: a stream of messages lies in memfd_in_flight files in
// all, where a memfd per message would give one file each.
TEST(PooledMemfd, a_stream_reuses_one_memfd_per_slot) {
  if (!make_transport(&baselines::make_memfd))
    GTEST_SKIP() << "the kernel refuses these memfds here";
  auto [ours, theirs] = pipes::open_socketpair(SOCK_SEQPACKET);
  const auto sender = baselines::open_memfd_channel(std::move(ours), pipes::fd());
  const auto receiver = baselines::open_memfd_channel(pipes::fd(), std::move(theirs));
  std::vector<std::byte> scratch(1);
  std::set<unsigned long> files;
  for (std::size_t i = 0; i < 3 * memfd_in_flight; ++i) {
    std::vector<std::byte> message(4000 + i);  // grows, but within each slot's one page
    fill(i, message);
    sender->send(message);
    const auto view = receiver->receive(scratch);
    EXPECT_TRUE(is_message(i, message.size(), view)) << i;
    files.insert(inode_mapped_at(view.data()));
  }
  EXPECT_FALSE(files.contains(0));
  EXPECT_EQ(files.size(), memfd_in_flight);
}

}  // namespace
