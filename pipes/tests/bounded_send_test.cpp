// send_bytes_for, flush_for and poll_send: a send that cannot hang, whatever the reader does.
// A reader that never reads bounds every call and loses nothing once it reads again; a message
// accepted in part is finished by the next write of any kind; a refused one leaves no trace.
// Also with pwritev2(RWF_NOWAIT) refused, as an older kernel would (poll + PIPE_BUF writes).
#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <thread>
#include <vector>

#include "pipes/connection.hpp"
#include "syscalls.hpp"
#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using pipes_test::pattern;
using clock = std::chrono::steady_clock;

constexpr std::size_t message_size = 64u << 10;
constexpr auto timeout = 100ms;
constexpr auto bound = 300ms;  // the timeout plus generous scheduling delay

ssize_t nowait_refused(int, const iovec*, int, off_t, int) {
  errno = EOPNOTSUPP;
  return -1;
}

// Sends 64 KiB messages with send_bytes_for into a pipe nobody reads until one is refused; each
// call must return within `bound`. Returns the seeds of the accepted messages.
std::vector<std::size_t> fill_until_refused(pipes::Connection& writer) {
  std::vector<std::size_t> accepted;
  for (std::size_t seed = 0; seed < 100; ++seed) {
    const auto start = clock::now();
    const bool ok = writer.send_bytes_for(pattern(message_size, seed), timeout);
    EXPECT_LT(clock::now() - start, bound) << "message " << seed;
    if (!ok) return accepted;
    accepted.push_back(seed);
  }
  ADD_FAILURE() << "100 messages of 64 KiB were all accepted by a pipe nobody reads";
  return accepted;
}

void a_reader_that_never_reads_bounds_every_send(pipes::Connection& reader,
                                                 pipes::Connection& writer) {
  const auto accepted = fill_until_refused(writer);
  ASSERT_FALSE(accepted.empty());
  EXPECT_FALSE(writer.poll_send(0ns)) << "a full pipe is not writable";
  // Refused again, still bounded: nothing of a refused message is ever sent.
  const auto start = clock::now();
  EXPECT_FALSE(writer.send_bytes_for(pattern(message_size, 500), timeout));
  EXPECT_LT(clock::now() - start, bound);

  // The reader starts reading: every accepted message arrives intact, then the connection goes
  // on as usual (the last accepted message's tail, if any, is finished by flush_for).
  std::size_t intact = 0;
  std::thread read_all([&] {
    for (const std::size_t seed : accepted)
      intact += reader.recv_bytes() == pattern(message_size, seed);
    intact += reader.recv_bytes() == pattern(message_size, 999);
  });
  EXPECT_TRUE(writer.flush_for(10s));
  EXPECT_TRUE(writer.poll_send(10s));
  writer.send_bytes(pattern(message_size, 999));
  read_all.join();
  EXPECT_EQ(intact, accepted.size() + 1);
}

TEST(BoundedSend, a_reader_that_never_reads_bounds_every_send_and_loses_nothing) {
  auto [reader, writer] = pipes::make_pipe();
  a_reader_that_never_reads_bounds_every_send(reader, writer);
}

TEST(BoundedSend, the_same_where_the_kernel_refuses_rwf_nowait) {
  pipes::scoped_syscall refused(&pipes::syscall_table::pwritev2, &nowait_refused);
  auto [reader, writer] = pipes::make_pipe(pipes::levers_off());  // a 64 KiB pipe
  a_reader_that_never_reads_bounds_every_send(reader, writer);
}

TEST(BoundedSend, a_partly_accepted_message_is_finished_by_the_next_send_of_any_kind) {
  auto [reader, writer] = pipes::make_pipe(pipes::levers_off());  // a 64 KiB pipe
  const auto big = pattern(200000, 1);  // larger than the pipe: accepted with a tail kept
  ASSERT_TRUE(writer.send_bytes_for(big, 50ms));
  EXPECT_FALSE(writer.releasable());
  std::error_code ec;
  writer.release(ec);
  EXPECT_EQ(ec, std::errc::device_or_resource_busy) << "release would lose the kept tail";
  std::vector<std::byte> first, second;
  std::thread read_both([&] {
    first = reader.recv_bytes();
    second = reader.recv_bytes();
  });
  writer.send_bytes(pattern(10, 2));  // blocking: writes the tail first, then its own frame
  read_both.join();
  EXPECT_EQ(first, big);
  EXPECT_EQ(second, pattern(10, 2));
}

TEST(BoundedSend, close_finishes_a_kept_tail) {
  auto [reader, writer] = pipes::make_pipe(pipes::levers_off());
  const auto big = pattern(300000, 3);
  ASSERT_TRUE(writer.send_bytes_for(big, 50ms));
  std::vector<std::byte> got;
  std::thread read_one([&] { got = reader.recv_bytes(); });
  writer.close();
  read_one.join();
  EXPECT_EQ(got, big);
}

TEST(BoundedSend, a_closed_reader_is_an_error_not_a_timeout) {
  auto [reader, writer] = pipes::make_pipe();
  reader.close();
  std::error_code ec;
  EXPECT_FALSE(writer.send_bytes_for(pattern(100, 4), timeout, ec));
  EXPECT_EQ(ec, pipes::errc::peer_closed);
}

TEST(BoundedSend, a_message_over_the_limit_is_refused_before_anything_is_written) {
  pipes::options opts;
  opts.max_message_size = 1000;
  auto [reader, writer] = pipes::make_pipe(opts);
  std::error_code ec;
  EXPECT_FALSE(writer.send_bytes_for(pattern(1001, 5), timeout, ec));
  EXPECT_EQ(ec, pipes::errc::message_too_large);
  EXPECT_TRUE(writer.send_bytes_for(pattern(1000, 6), timeout));
  EXPECT_EQ(reader.recv_bytes(), pattern(1000, 6));
}

}  // namespace
