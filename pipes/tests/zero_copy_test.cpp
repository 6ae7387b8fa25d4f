// The zero-copy path: the staging ring's reuse rule on its own, then vmsplice through real pipes
// with a sender that rewrites its memory at once, and every way vmsplice can let us down.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <thread>

#include "pipes/connection.hpp"
#include "staging_ring.hpp"
#include "syscalls.hpp"
#include "test_support.hpp"

namespace {

using pipes::detail::staging_ring;
using pipes_test::pattern;
using pipes_test::rng;

// A model of what may still sit in the pipe: every spliced byte range with the stream position
// at which it entered. Reserving memory that overlaps a range less than one capacity old is the
// bug the ring exists to prevent.
TEST(StagingRing, never_hands_out_bytes_that_may_still_be_in_the_pipe) {
  for (std::size_t capacity : {64u * 1024, 1024u * 1024}) {
    std::error_code ec;
    staging_ring ring(capacity, 0, ec);
    ASSERT_FALSE(ec);
    ASSERT_GE(ring.size(), 2 * capacity);
    struct spliced {
      const std::byte* begin;
      const std::byte* end;
      std::uint64_t stream_end;
    };
    std::deque<spliced> history;
    std::uint64_t stream = 0;
    rng gen(capacity);
    const std::size_t chunk = staging_ring::chunk_limit(capacity);
    for (int i = 0; i < 20000; ++i) {
      stream += gen.next() % 3 == 0 ? gen.between(1, 5000) : 0;  // plain writes in between
      const bool loan = gen.next() % 4 == 0;
      const std::size_t want = loan ? gen.between(1, ring.largest()) : gen.between(1, chunk);
      const std::size_t min = loan ? want : std::min<std::size_t>(want, 4096);
      const auto r = ring.reserve(min, want, stream);
      // Within its guarantees the ring always has room.
      ASSERT_TRUE(r) << "i=" << i << " want=" << want;
      ASSERT_GE(r.bytes.size(), min);
      ASSERT_LE(r.bytes.size(), want);
      ASSERT_EQ(reinterpret_cast<std::uintptr_t>(r.bytes.data()) % staging_ring::alignment, 0u);
      while (!history.empty() && history.front().stream_end + capacity <= stream) {
        history.pop_front();
      }
      for (const spliced& s : history) {
        const bool overlaps = r.bytes.data() < s.end && s.begin < r.bytes.data() + r.bytes.size();
        ASSERT_FALSE(overlaps) << "i=" << i;
      }
      if (gen.next() % 10 == 0) {
        ring.discard(r.ticket);  // an abandoned loan: never spliced
        continue;
      }
      stream += r.bytes.size();
      ring.publish(r.ticket, stream);
      history.push_back({r.bytes.data(), r.bytes.data() + r.bytes.size(), stream});
    }
  }
}

TEST(StagingRing, an_unpublished_reservation_is_never_handed_out_again) {
  std::error_code ec;
  staging_ring ring(64 * 1024, 0, ec);
  ASSERT_FALSE(ec);
  const auto held = ring.reserve(1000, 1000, 0);
  ASSERT_TRUE(held);
  std::uint64_t stream = 0;
  for (int i = 0; i < 1000; ++i) {
    const auto r = ring.reserve(1, 8192, stream);
    if (!r) continue;  // full behind the held one: fine
    EXPECT_TRUE(r.bytes.data() >= held.bytes.data() + held.bytes.size() ||
                r.bytes.data() + r.bytes.size() <= held.bytes.data());
    stream += r.bytes.size() + 1'000'000;
    ring.publish(r.ticket, stream);
  }
}

// Sender and receiver in two processes. The sender reuses one buffer (or its loans) and
// overwrites it immediately after every send; the receiver regenerates each message on its own.
// A page rewritten while still in the pipe would show up as a mismatch.
// loan_ahead: each loan goes out in thirds with send_ahead, then commit.
enum class send_style { copy, loan, mixed, loan_ahead };

// The receiver pauses for 100 µs before one message in `pause_every` on average.
void stream_and_verify(send_style style, const pipes::options& opts, int messages,
                       std::size_t max_size, std::uint64_t seed, unsigned pause_every = 16) {
  auto [reader, writer] = pipes::make_pipe(opts);
  const pid_t child = pipes_test::fork_child([&, &reader = reader, &writer = writer] {
    reader.close();
    rng sizes(seed);
    std::vector<std::byte> buffer(max_size);
    for (int i = 0; i < messages; ++i) {
      const std::size_t size = sizes.log_size(max_size);
      const bool use_loan = style == send_style::loan || style == send_style::loan_ahead ||
                            (style == send_style::mixed && sizes.next() % 2 == 0);
      if (use_loan) {
        const std::span<std::byte> loan = writer.loan(size);
        pipes_test::fill_pattern(loan, seed + i);
        if (style == send_style::loan_ahead) {
          writer.send_ahead(size / 3);
          writer.send_ahead(2 * size / 3);
        }
        writer.commit();
      } else {
        const std::span<std::byte> message(buffer.data(), size);
        pipes_test::fill_pattern(message, seed + i);
        writer.send_bytes(message);
        std::memset(buffer.data(), 0xee, size);  // scribble at once
      }
    }
    return 0;
  });
  writer.close();
  rng sizes(seed);
  rng pauses(seed + 1);
  std::vector<std::byte> got(max_size);
  std::vector<std::byte> expected(max_size);
  int mismatches = 0;
  for (int i = 0; i < messages && mismatches < 5; ++i) {
    const std::size_t size = sizes.log_size(max_size);
    if (style == send_style::mixed) sizes.next();
    // A reader that falls behind now and then lets the pipe fill up: the dangerous case.
    if (pauses.next() % pause_every == 0)
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    const std::size_t n = reader.recv_bytes_into(got);
    ASSERT_EQ(n, size) << "message " << i;
    const std::span<std::byte> want(expected.data(), size);
    pipes_test::fill_pattern(want, seed + i);
    if (std::memcmp(got.data(), want.data(), size) != 0) {
      ++mismatches;
      ADD_FAILURE() << "message " << i << " of " << size << " bytes was corrupted";
    }
  }
  std::error_code ec;
  reader.recv_bytes(ec);
  EXPECT_EQ(ec, pipes::errc::peer_closed);
  EXPECT_TRUE(pipes_test::exited_with(pipes_test::wait_child(child), 0));
}

pipes::options small_pipe_low_threshold() {
  pipes::options opts;
  opts.pipe_capacity = 64 * 1024;  // the ring wraps often
  opts.zero_copy_threshold = 4096;
  return opts;
}

TEST(ZeroCopy, sender_may_overwrite_its_buffer_right_after_send) {
  stream_and_verify(send_style::copy, small_pipe_low_threshold(), 3000, 1 << 20, 11);
  stream_and_verify(send_style::copy, pipes::options{}, 1200, 4 << 20, 12);
}

TEST(ZeroCopy, sender_may_fill_the_next_loan_right_after_commit) {
  stream_and_verify(send_style::loan, small_pipe_low_threshold(), 3000, 1 << 20, 21);
  stream_and_verify(send_style::loan, pipes::options{}, 1200, 4 << 20, 22);
}

TEST(ZeroCopy, loans_sent_ahead_in_pieces_arrive_intact) {
  stream_and_verify(send_style::loan_ahead, small_pipe_low_threshold(), 3000, 1 << 20, 25);
  stream_and_verify(send_style::loan_ahead, pipes::options{}, 300, 8 << 20, 26);
}

// With spin set the writer busy-polls a full pipe (vmsplice with SPLICE_F_NONBLOCK, then poll)
// before sleeping; the reader's pauses make it both catch the room and give up and sleep.
TEST(ZeroCopy, a_spinning_writer_on_a_full_pipe_loses_nothing) {
  pipes::options opts = small_pipe_low_threshold();
  opts.spin = std::chrono::microseconds(20);
  stream_and_verify(send_style::mixed, opts, 3000, 1 << 20, 35);
  stream_and_verify(send_style::loan_ahead, opts, 1000, 1 << 20, 36, 4);
}

TEST(ZeroCopy, loans_and_copies_interleave_safely) {
  stream_and_verify(send_style::mixed, small_pipe_low_threshold(), 3000, 512 << 10, 31);
}

// Millions of messages, 1 B to 32 KiB, copies and loans mixed, a 64 KiB pipe whose ring wraps
// every few dozen messages, and a vmsplice threshold of 512 B so that most messages are spliced
// by reference while the sender scribbles over its buffer and fills the next loan at once.
// Under a sanitizer (5-20 times slower) a tenth of them, to stay inside the child's 30 s alarm.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr int stress_messages = 200'000;
#else
constexpr int stress_messages = 2'000'000;
#endif

TEST(ZeroCopy, stress_two_million_messages_with_instant_overwrites) {
  pipes::options opts;
  opts.pipe_capacity = 64 * 1024;
  opts.zero_copy_threshold = 512;
  stream_and_verify(send_style::mixed, opts, stress_messages, 32 << 10, 41, 4096);
}

// The rule at its edge, deterministically: a staged message, then nearly a pipe's worth of small
// written messages, then another staged message, all while nobody reads. A ring that reused the
// first message's memory before a full capacity had followed it would corrupt it in the pipe.
TEST(ZeroCopy, ring_memory_is_reused_only_after_a_full_pipe_of_bytes) {
  for (bool loans : {false, true}) {
    pipes::options opts;
    opts.pipe_capacity = 64 * 1024;
    opts.zero_copy_threshold = 4096;
    auto [reader, writer] = pipes::make_pipe(opts);
    ASSERT_EQ(writer.capacity(), 64u * 1024);
    auto send_staged = [&writer = writer, loans](std::uint64_t seed) {
      if (loans) {
        pipes_test::fill_pattern(writer.loan(4096), seed);
        writer.commit();
      } else {
        std::vector<std::byte> message = pattern(4096, seed);
        writer.send_bytes(message);
        std::memset(message.data(), 0, message.size());
      }
    };
    // Pipe slots used: 2 + 10 + 2 of 16, so no call blocks without a reader.
    const std::vector<std::byte> small = pattern(96, 3);
    const std::vector<std::span<const std::byte>> batch(400, small);
    send_staged(1);
    writer.send_batch(batch);
    send_staged(2);
    EXPECT_EQ(reader.recv_bytes(), pattern(4096, 1)) << "loans: " << loans;
    for (int i = 0; i < 400; ++i) ASSERT_EQ(reader.recv_bytes(), small);
    EXPECT_EQ(reader.recv_bytes(), pattern(4096, 2));
  }
}

int vmsplice_calls = 0;
ssize_t refused_vmsplice(int, const iovec*, unsigned long, unsigned int) {
  ++vmsplice_calls;
  errno = EINVAL;
  return -1;
}

TEST(ZeroCopy, refused_vmsplice_falls_back_to_writes_for_good) {
  auto [reader, writer] = pipes::make_pipe();
  pipes::scoped_syscall refuse(&pipes::syscall_table::vmsplice, &refused_vmsplice);
  vmsplice_calls = 0;
  std::thread sender([&writer = writer] {
    for (int i = 0; i < 20; ++i) writer.send_bytes(pattern(300000 + i, i));
    const auto loan = writer.loan(200000);
    pipes_test::fill_pattern(loan, 99);
    writer.commit();
  });
  for (int i = 0; i < 20; ++i) EXPECT_EQ(reader.recv_bytes(), pattern(300000 + i, i));
  EXPECT_EQ(reader.recv_bytes(), pattern(200000, 99));
  sender.join();
  EXPECT_EQ(vmsplice_calls, 1);
}

ssize_t short_vmsplice(int fd, const iovec* iov, unsigned long count, unsigned int flags) {
  static rng gen(5);
  ++vmsplice_calls;
  if (gen.next() % 5 == 0) {
    errno = gen.next() % 2 ? EINTR : EAGAIN;
    return -1;
  }
  iovec first = iov[0];
  first.iov_len = std::min<std::size_t>(first.iov_len, gen.between(1, 70000));
  (void)count;
  return pipes::real_syscalls().vmsplice(fd, &first, 1, flags);
}

TEST(ZeroCopy, short_and_interrupted_vmsplice_calls_are_resumed) {
  auto [reader, writer] = pipes::make_pipe(small_pipe_low_threshold());
  pipes::scoped_syscall flaky(&pipes::syscall_table::vmsplice, &short_vmsplice);
  vmsplice_calls = 0;
  std::thread sender([&writer = writer] {
    for (int i = 0; i < 50; ++i) writer.send_bytes(pattern(10000 + 7919 * i, i));
  });
  for (int i = 0; i < 50; ++i) EXPECT_EQ(reader.recv_bytes(), pattern(10000 + 7919 * i, i));
  sender.join();
  EXPECT_GT(vmsplice_calls, 50);
}

void* failing_mmap(void*, size_t, int, int, int, off_t) {
  errno = ENOMEM;
  return MAP_FAILED;
}

TEST(ZeroCopy, no_memory_for_the_ring_means_plain_writes) {
  auto [reader, writer] = pipes::make_pipe();
  pipes::scoped_syscall no_memory(&pipes::syscall_table::mmap, &failing_mmap);
  std::thread sender([&writer = writer] {
    writer.send_bytes(pattern(500000, 1));
    const auto loan = writer.loan(500000);
    pipes_test::fill_pattern(loan, 2);
    writer.commit();
  });
  EXPECT_EQ(reader.recv_bytes(), pattern(500000, 1));
  EXPECT_EQ(reader.recv_bytes(), pattern(500000, 2));
  sender.join();
}

TEST(Loan, small_and_large_loans_send_what_was_written) {
  auto [reader, writer] = pipes::make_pipe();
  std::thread sender([&writer = writer] {
    for (std::size_t size : {0u, 1u, 100u, 70000u, 1u << 20, 3u << 20}) {
      const auto loan = writer.loan(size);
      EXPECT_EQ(loan.size(), size);
      EXPECT_EQ(reinterpret_cast<std::uintptr_t>(loan.data()) % 64, 0u);
      pipes_test::fill_pattern(loan, size);
      writer.commit();
    }
  });
  for (std::size_t size : {0u, 1u, 100u, 70000u, 1u << 20, 3u << 20}) {
    EXPECT_EQ(reader.recv_bytes(), pattern(size, size)) << size;
  }
  sender.join();
}

TEST(Loan, commit_used_sends_a_shorter_message) {
  auto [reader, writer] = pipes::make_pipe();
  for (std::size_t size : {100u, 200000u}) {
    const auto loan = writer.loan(size);
    pipes_test::fill_pattern(loan.first(10), 1);
    writer.commit(10);
    EXPECT_EQ(reader.recv_bytes(), pattern(10, 1));
  }
}

TEST(Loan, a_second_loan_abandons_the_first) {
  auto [reader, writer] = pipes::make_pipe();
  writer.loan(200000);
  const auto second = writer.loan(5);
  std::memcpy(second.data(), "fresh", 5);
  writer.commit();
  EXPECT_EQ(pipes_test::text_of(reader.recv_bytes()), "fresh");
  EXPECT_FALSE(reader.poll());
}

TEST(Loan, misuse_is_invalid_argument) {
  auto [reader, writer] = pipes::make_pipe();
  std::error_code ec;
  writer.commit(ec);
  EXPECT_EQ(ec, std::errc::invalid_argument);
  const auto loan = writer.loan(10);
  writer.commit(11, ec);
  EXPECT_EQ(ec, std::errc::invalid_argument);
  std::memcpy(loan.data(), "0123456789", 10);
  writer.commit();  // the loan survived the bad commit
  EXPECT_EQ(pipes_test::text_of(reader.recv_bytes()), "0123456789");
  EXPECT_THROW(writer.commit(), std::system_error);
}

TEST(Loan, larger_than_any_ring_comes_from_the_heap_and_still_works) {
  pipes::options opts;
  opts.pipe_capacity = 64 * 1024;
  auto [reader, writer] = pipes::make_pipe(opts);
  constexpr std::size_t size = 70u << 20;  // beyond the ring's growth limit
  std::thread sender([&writer = writer] {
    const auto loan = writer.loan(size);
    pipes_test::fill_pattern(loan, 7);
    writer.commit();
  });
  std::vector<std::byte> got(size);
  EXPECT_EQ(reader.recv_bytes_into(got), size);
  sender.join();
  EXPECT_TRUE(got == pattern(size, 7));
}

TEST(ZeroCopy, pipe_grown_behind_the_writer_keeps_data_intact) {
  pipes::options opts;
  opts.pipe_capacity = 64 * 1024;
  opts.zero_copy_threshold = 4096;
  auto [reader, writer] = pipes::make_pipe(opts);
  std::thread sender([&writer = writer] {
    for (int i = 0; i < 400; ++i) {
      std::vector<std::byte> message = pattern(8192 + i * 997, i);
      writer.send_bytes(message);
      std::memset(message.data(), 0, message.size());
    }
  });
  for (int i = 0; i < 400; ++i) {
    // A peer with bigger options resizing the pipe early on, as an adopt() in a child might.
    if (i == 3) ::fcntl(reader.read_fd(), F_SETPIPE_SZ, 1 << 20);
    EXPECT_EQ(reader.recv_bytes(), pattern(8192 + i * 997, i)) << i;
  }
  sender.join();
}

}  // namespace
