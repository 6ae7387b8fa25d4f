// Loans sent ahead of commit(): the bytes arrive as one message whichever way the loan's memory
// goes out (the staging ring, the heap, plain writes), and nothing else can get into the pipe in
// the middle of its frame.
#include <gtest/gtest.h>
#include <signal.h>

#include <cstring>
#include <thread>

#include "pipes/connection.hpp"
#include "pipes/error.hpp"
#include "test_support.hpp"

namespace {

using pipes_test::pattern;

// Sends one loan of `size` bytes ahead in pieces of `piece` while a thread receives it.
void send_in_pieces(const pipes::options& opts, std::size_t size, std::size_t piece) {
  auto [reader, writer] = pipes::make_pipe(opts);
  std::thread sender([&writer = writer, size, piece] {
    const auto loan = writer.loan(size);
    for (std::size_t built = 0; built < size; built += piece) {
      const std::size_t n = std::min(piece, size - built);
      pipes_test::fill_pattern(loan.subspan(built, n), built);
      writer.send_ahead(built + n);
    }
    writer.commit();
    writer.send_bytes(pipes_test::bytes_of("next"));
  });
  const std::vector<std::byte> got = reader.recv_bytes();
  sender.join();
  ASSERT_EQ(got.size(), size);
  for (std::size_t built = 0; built < size; built += piece) {
    const std::size_t n = std::min(piece, size - built);
    ASSERT_TRUE(std::equal(got.begin() + built, got.begin() + built + n, pattern(n, built).begin()))
        << "piece at " << built << " of " << size;
  }
  EXPECT_EQ(pipes_test::text_of(reader.recv_bytes()), "next");
}

TEST(SendAhead, a_loan_in_the_staging_ring_arrives_whole) {
  send_in_pieces({}, 6u << 20, 256u << 10);  // larger than the pipe, inside the ring
}

TEST(SendAhead, a_loan_larger_than_any_ring_arrives_whole) {
  pipes::options opts;
  opts.pipe_capacity = 64 * 1024;
  send_in_pieces(opts, 70u << 20, 1u << 20);  // from the heap, staged through the ring
}

TEST(SendAhead, without_zero_copy_and_with_every_lever_off_arrives_whole) {
  pipes::options no_splice;
  no_splice.zero_copy = false;
  send_in_pieces(no_splice, 3u << 20, 100000);
  send_in_pieces(pipes::levers_off(), 300000, 7);  // Python's two writes: header, then payload
  send_in_pieces(pipes::levers_off(), 100, 7);     // Python's one write up to 16 KiB
}

TEST(SendAhead, nothing_else_gets_into_the_frame_until_commit) {
  auto [reader, writer] = pipes::make_pipe();
  const auto loan = writer.loan(100);
  std::memset(loan.data(), 'a', loan.size());
  writer.send_ahead(40);
  std::error_code ec;
  writer.send_bytes(pipes_test::bytes_of("intruder"), ec);
  EXPECT_EQ(ec, std::errc::operation_in_progress);
  writer.loan(10, ec);
  EXPECT_EQ(ec, std::errc::operation_in_progress);
  writer.release(ec);
  EXPECT_EQ(ec, std::errc::device_or_resource_busy);
  writer.commit(60, ec);  // the header already says 100 bytes
  EXPECT_EQ(ec, std::errc::invalid_argument);
  writer.send_ahead(101, ec);
  EXPECT_EQ(ec, std::errc::invalid_argument);
  writer.send_ahead(20);  // behind what was sent: nothing to do
  writer.commit();        // the loan survived every refusal
  writer.send_bytes(pipes_test::bytes_of("after"));
  EXPECT_EQ(reader.recv_bytes(), std::vector<std::byte>(100, std::byte{'a'}));
  EXPECT_EQ(pipes_test::text_of(reader.recv_bytes()), "after");
}

TEST(SendAhead, without_a_loan_is_invalid_argument) {
  auto [reader, writer] = pipes::make_pipe();
  std::error_code ec;
  writer.send_ahead(0, ec);
  EXPECT_EQ(ec, std::errc::invalid_argument);
}

TEST(SendAhead, close_cuts_the_message_short_and_the_reader_says_so) {
  auto [reader, writer] = pipes::make_pipe();
  const auto loan = writer.loan(1000);
  std::memset(loan.data(), 'b', loan.size());
  writer.send_ahead(500);
  writer.close();
  std::error_code ec;
  reader.recv_bytes(ec);
  EXPECT_EQ(ec, pipes::errc::peer_closed_mid_message);
}

TEST(SendAhead, a_reader_that_goes_away_is_peer_closed_not_sigpipe) {
  signal(SIGPIPE, SIG_DFL);  // a SIGPIPE would kill the test
  auto [reader, writer] = pipes::make_pipe();
  const auto loan = writer.loan(4u << 20);
  pipes_test::fill_pattern(loan, 3);
  reader.close();
  std::error_code ec;
  writer.send_ahead(1u << 20, ec);
  EXPECT_EQ(ec, pipes::errc::peer_closed);
  writer.commit(ec);  // the failed message took the loan with it
  EXPECT_EQ(ec, std::errc::invalid_argument);
}

}  // namespace
