// Receiving: too-short buffers, timeouts, poll() and read-ahead, empty and moved connections,
// non-blocking descriptors, release().
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <thread>

#include "pipes/connection.hpp"
#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using pipes_test::bytes_of;
using pipes_test::pattern;
using pipes_test::text_of;

TEST(Receive, buffer_too_short_leaves_the_message_readable) {
  for (std::size_t size : {100u, 200000u}) {
    auto [reader, writer] = pipes::make_pipe();
    writer.send_bytes(pattern(size, 1));
    writer.send_bytes(bytes_of("after"));
    std::vector<std::byte> small(10);
    try {
      reader.recv_bytes_into(small);
      ADD_FAILURE() << "no exception";
    } catch (const pipes::buffer_too_short_error& e) {
      EXPECT_EQ(e.message_size(), size);
      EXPECT_EQ(e.code(), pipes::errc::buffer_too_short);
    }
    std::error_code ec;
    EXPECT_EQ(reader.recv_bytes_into(small, ec), size);  // the twin reports the size
    EXPECT_EQ(ec, pipes::errc::buffer_too_short);
    EXPECT_TRUE(reader.poll());
    std::vector<std::byte> big(size);
    EXPECT_EQ(reader.recv_bytes_into(big), size);
    EXPECT_EQ(big, pattern(size, 1));
    EXPECT_EQ(text_of(reader.recv_bytes()), "after");
  }
}

TEST(Receive, recv_bytes_takes_a_message_left_by_a_short_buffer) {
  auto [reader, writer] = pipes::make_pipe();
  writer.send_bytes(pattern(5000, 2));
  std::byte small[4];
  std::error_code ec;
  reader.recv_bytes_into(small, ec);
  EXPECT_EQ(reader.recv_bytes(), pattern(5000, 2));
}

TEST(Receive, timeouts_return_nullopt) {
  auto [reader, writer] = pipes::make_pipe();
  std::byte buffer[16];
  EXPECT_EQ(reader.recv_bytes_for(1ms), std::nullopt);
  EXPECT_EQ(reader.recv_bytes_into_for(buffer, 1ms), std::nullopt);
  EXPECT_EQ(reader.recv_bytes_for(0ns), std::nullopt);
  EXPECT_EQ(reader.recv_bytes_for(-5s), std::nullopt);  // negative is zero
  EXPECT_FALSE(reader.poll(1ms));
  EXPECT_FALSE(reader.poll());
  writer.send_bytes(bytes_of("hi"));
  EXPECT_TRUE(reader.poll(10s));
  const auto message = reader.recv_bytes_for(10s);
  ASSERT_TRUE(message.has_value());
  EXPECT_EQ(text_of(*message), "hi");
  writer.send_bytes(bytes_of("again"));
  EXPECT_EQ(reader.recv_bytes_into_for(buffer, 10s), 5u);
}

TEST(Receive, a_timeout_with_half_a_header_keeps_the_half) {
  auto [r, w] = pipes::open_pipe();
  pipes::Connection reader(std::move(r), pipes::fd());
  const std::byte first_half[] = {std::byte{0}, std::byte{0}};
  pipes::write_all(w, first_half);
  EXPECT_EQ(reader.recv_bytes_for(2ms), std::nullopt);
  EXPECT_TRUE(reader.poll());  // the half header counts as something to receive
  const std::byte rest[] = {std::byte{0}, std::byte{2}, std::byte{'o'}, std::byte{'k'}};
  pipes::write_all(w, rest);
  const auto message = reader.recv_bytes_for(10s);
  ASSERT_TRUE(message.has_value());
  EXPECT_EQ(text_of(*message), "ok");
}

TEST(Receive, a_timed_receive_waits_for_a_message_that_comes_later) {
  auto [reader, writer] = pipes::make_pipe();
  std::thread late([&writer = writer] {
    std::this_thread::sleep_for(20ms);
    writer.send_bytes(bytes_of("late"));
  });
  const auto message = reader.recv_bytes_for(30s);
  late.join();
  ASSERT_TRUE(message.has_value());
  EXPECT_EQ(text_of(*message), "late");
}

TEST(Receive, poll_counts_bytes_already_read_ahead) {
  auto [reader, writer] = pipes::make_pipe();
  const auto one = bytes_of("one");
  const auto two = bytes_of("two");
  const std::span<const std::byte> batch[] = {one, two};
  writer.send_batch(batch);
  EXPECT_EQ(text_of(reader.recv_bytes()), "one");  // one read() took both frames
  EXPECT_TRUE(reader.poll());                      // the pipe is empty; the buffer is not
  EXPECT_EQ(text_of(reader.recv_bytes()), "two");
  EXPECT_FALSE(reader.poll());
}

TEST(Receive, poll_reports_end_of_file) {
  auto [reader, writer] = pipes::make_pipe();
  writer.close();
  EXPECT_TRUE(reader.poll(10s));
}

TEST(Receive, spinning_receiver_gets_every_message) {
  pipes::options opts;
  opts.spin = 20us;
  auto [a, b] = pipes::make_duplex(opts);
  std::thread echo([&b = b] {
    for (int i = 0; i < 200; ++i) b.send_bytes(b.recv_bytes());
  });
  for (int i = 0; i < 200; ++i) {
    a.send_bytes(pattern(i * 10, i));
    EXPECT_EQ(a.recv_bytes(), pattern(i * 10, i));
  }
  echo.join();
  EXPECT_FALSE(a.poll(100us));
}

TEST(Receive, missing_directions_fail_with_ebadf) {
  auto [reader, writer] = pipes::make_pipe();
  std::error_code ec;
  reader.send_bytes(bytes_of("x"), ec);
  EXPECT_EQ(ec, std::errc::bad_file_descriptor);
  writer.recv_bytes(ec);
  EXPECT_EQ(ec, std::errc::bad_file_descriptor);
  writer.poll(0ns, ec);
  EXPECT_EQ(ec, std::errc::bad_file_descriptor);
  EXPECT_EQ(reader.write_fd(), -1);
  EXPECT_EQ(writer.read_fd(), -1);

  pipes::Connection empty;
  EXPECT_THROW(empty.send_bytes(bytes_of("x")), std::system_error);
  EXPECT_THROW(empty.recv_bytes(), std::system_error);
  EXPECT_THROW(empty.loan(1), std::system_error);
  EXPECT_EQ(empty.capacity(), 0u);
}

TEST(Receive, moved_from_connection_is_empty_and_moved_to_works) {
  auto [reader, writer] = pipes::make_pipe();
  pipes::Connection moved = std::move(writer);
  EXPECT_EQ(writer.write_fd(), -1);
  moved.send_bytes(bytes_of("moved"));
  pipes::Connection target;
  target = std::move(reader);
  EXPECT_EQ(text_of(target.recv_bytes()), "moved");
}

TEST(Receive, close_closes_and_is_idempotent) {
  auto [reader, writer] = pipes::make_pipe();
  const int fd = writer.write_fd();
  writer.close();
  EXPECT_EQ(::fcntl(fd, F_GETFD), -1);
  writer.close();
  std::error_code ec;
  writer.send_bytes(bytes_of("x"), ec);
  EXPECT_EQ(ec, std::errc::bad_file_descriptor);
  std::error_code eof;
  reader.recv_bytes(eof);
  EXPECT_EQ(eof, pipes::errc::peer_closed);
}

TEST(Receive, non_blocking_descriptors_behave_as_blocking_ones) {
  auto [r, w] = pipes::open_pipe();
  ::fcntl(r.get(), F_SETFL, O_NONBLOCK);
  ::fcntl(w.get(), F_SETFL, O_NONBLOCK);
  pipes::options opts;
  opts.pipe_capacity = 64 * 1024;
  pipes::Connection reader(std::move(r), pipes::fd(), opts);
  pipes::Connection writer(pipes::fd(), std::move(w), opts);
  std::thread sender([&writer] {
    for (int i = 0; i < 20; ++i) writer.send_bytes(pattern(100000 + i, i));
    const auto loan = writer.loan(300000);
    pipes_test::fill_pattern(loan, 99);
    writer.commit();
  });
  for (int i = 0; i < 20; ++i) EXPECT_EQ(reader.recv_bytes(), pattern(100000 + i, i));
  EXPECT_EQ(reader.recv_bytes(), pattern(300000, 99));
  sender.join();
  EXPECT_EQ(reader.recv_bytes_for(1ms), std::nullopt);
}

TEST(Release, refuses_while_read_ahead_holds_bytes) {
  auto [reader, writer] = pipes::make_pipe();
  const auto one = bytes_of("one");
  const auto two = bytes_of("two");
  const std::span<const std::byte> batch[] = {one, two};
  EXPECT_TRUE(reader.releasable());
  writer.send_batch(batch);
  reader.recv_bytes();
  EXPECT_FALSE(reader.releasable()) << "\"two\" is read ahead";
  std::error_code ec;
  const auto refused = reader.release(ec);
  EXPECT_FALSE(refused.first);
  EXPECT_FALSE(refused.second);
  EXPECT_EQ(ec, std::errc::device_or_resource_busy);
  EXPECT_THROW(reader.release(), std::system_error);
  EXPECT_EQ(text_of(reader.recv_bytes()), "two");  // unchanged and still usable
  EXPECT_TRUE(reader.releasable());

  // A header consumed by a too-short receive is stream state too.
  writer.send_bytes(bytes_of("three"));
  std::byte small[1];
  reader.recv_bytes_into(small, ec);
  EXPECT_THROW(reader.release(), std::system_error);
  EXPECT_EQ(text_of(reader.recv_bytes()), "three");

  const int raw = reader.read_fd();
  const auto [read_end, write_end] = reader.release();
  EXPECT_EQ(read_end.get(), raw);
  EXPECT_FALSE(write_end);
  EXPECT_NE(::fcntl(read_end.get(), F_GETFD), -1);  // still open, now the caller's
  EXPECT_EQ(reader.read_fd(), -1);
}

TEST(Release, without_read_ahead_the_buffer_is_empty_between_messages) {
  pipes::options opts;
  opts.read_ahead = false;
  auto [reader, writer] = pipes::make_pipe(opts);
  const auto one = bytes_of("one");
  const auto two = bytes_of("two");
  const std::span<const std::byte> batch[] = {one, two};
  writer.send_batch(batch);
  reader.recv_bytes();
  auto [read_end, write_end] = reader.release();
  pipes::Connection adopted(std::move(read_end), std::move(write_end), opts);
  EXPECT_EQ(text_of(adopted.recv_bytes()), "two");
}

}  // namespace
