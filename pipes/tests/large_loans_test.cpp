// Loans too big for the staging ring are spliced from two mappings used in turn: the rule on its
// own, then through a real pipe whose reader dawdles while the sender fills the next loan at once.
#include "large_loans.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "pipes/connection.hpp"
#include "test_support.hpp"

namespace {

using pipes::detail::large_loans;
using pipes_test::pattern;

constexpr std::size_t capacity = 64 * 1024;

TEST(LargeLoans, a_mapping_is_handed_out_again_only_a_pipe_capacity_after_its_last_byte) {
  large_loans loans;
  const auto a = loans.take(1 << 20, 0, capacity);
  ASSERT_EQ(a.size(), 1u << 20);
  loans.published(1 << 20);  // its last byte entered at stream 1 MiB
  const auto b = loans.take(1 << 20, 1 << 20, capacity);
  ASSERT_EQ(b.size(), 1u << 20);
  EXPECT_NE(b.data(), a.data());
  loans.published((1 << 20) + 10);  // a short message from b
  // Both may still be in the pipe: nothing to hand out.
  EXPECT_TRUE(loans.take(1 << 20, (1 << 20) + 10, capacity).empty());
  // One byte short of a capacity behind a's end, then exactly a capacity.
  EXPECT_TRUE(loans.take(1 << 20, (1 << 20) + capacity - 1, capacity).empty());
  const auto again = loans.take(1 << 20, (1 << 20) + capacity, capacity);
  EXPECT_EQ(again.data(), a.data());
}

TEST(LargeLoans, memory_returned_unspliced_is_free_at_once_and_larger_loans_get_larger_maps) {
  large_loans loans;
  const auto a = loans.take(4096, 0, capacity);
  loans.returned();
  EXPECT_EQ(loans.take(4096, 0, capacity).data(), a.data());
  loans.returned();
  const auto big = loans.take(3 << 20, 0, capacity);  // replaces a mapping too small for it
  ASSERT_EQ(big.size(), 3u << 20);
  std::memset(big.data(), 1, big.size());  // all of it is writable
  loans.published(3 << 20);
  loans.trim(1 << 20);  // unmaps the 3 MiB mapping (the pipe would keep its own references)
  EXPECT_EQ(loans.take(3 << 20, 3 << 20, capacity).size(), 3u << 20);
}

// A 64 KiB pipe keeps the ring at most 64 MiB, so loans from 22 MiB up are large loans. The
// reader sleeps before each message, so the last bytes of every loan sit in the pipe while the
// sender fills the next; reused memory would show as a mismatch. `short_every` commits every
// that many loans a 10-byte message instead, which leaves both mappings possibly in the pipe and
// forces the heap fallback for the next loan.
void stream_large_loans(bool ahead, int short_every) {
  pipes::options opts;
  opts.pipe_capacity = 64 * 1024;
  auto [reader, writer] = pipes::make_pipe(opts);
  constexpr int messages = 8;
  constexpr std::size_t size = 24u << 20;
  auto length = [&](int i) { return i % short_every == short_every - 1 ? 10 : size - i * 4096; };
  std::thread sender([&writer = writer, ahead, length] {
    for (int i = 0; i < messages; ++i) {
      const std::size_t n = length(i);
      const auto loan = writer.loan(n == 10 ? size : n);  // a short message from a large loan
      pipes_test::fill_pattern(loan.first(n), i);
      if (ahead && n != 10) writer.send_ahead(n / 2);
      writer.commit(n);
    }
  });
  for (int i = 0; i < messages; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_TRUE(reader.recv_bytes() == pattern(length(i), i)) << "message " << i;
  }
  sender.join();
}

TEST(LargeLoans, loans_beyond_the_ring_arrive_intact_while_the_next_is_filled_at_once) {
  stream_large_loans(false, 1000);
  stream_large_loans(true, 1000);
}

TEST(LargeLoans, with_both_mappings_possibly_in_the_pipe_the_next_loan_still_arrives_intact) {
  stream_large_loans(false, 3);
}

}  // namespace
