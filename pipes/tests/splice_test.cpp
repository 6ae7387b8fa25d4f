// Files in and out of the pipe with splice: send_from_fd and recv_into_fd, and their fallbacks.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <thread>

#include "pipes/connection.hpp"
#include "syscalls.hpp"
#include "test_support.hpp"

namespace {

using pipes_test::pattern;
using pipes_test::temp_file;

std::vector<std::byte> file_contents(const pipes::fd& file) {
  const off_t size = ::lseek(file.get(), 0, SEEK_END);
  std::vector<std::byte> out(static_cast<std::size_t>(size));
  EXPECT_EQ(::pread(file.get(), out.data(), out.size(), 0), size);
  return out;
}

pipes::fd file_with(std::span<const std::byte> contents) {
  pipes::fd file = temp_file();
  pipes::write_all(file, contents);
  ::lseek(file.get(), 0, SEEK_SET);
  return file;
}

std::vector<std::byte> concat(std::initializer_list<std::span<const std::byte>> pieces) {
  std::vector<std::byte> out;
  for (auto piece : pieces) out.insert(out.end(), piece.begin(), piece.end());
  return out;
}

TEST(Splice, send_from_fd_sends_a_file_region_as_one_message) {
  const auto contents = pattern(3 << 20, 1);
  const pipes::fd file = file_with(contents);
  ::lseek(file.get(), 1000, SEEK_SET);
  auto [reader, writer] = pipes::make_pipe();
  std::thread sender([&writer = writer, &file] {
    writer.send_from_fd(file.get(), 2'500'000);
    writer.send_from_fd(file.get(), 10);  // continues from the advanced offset
  });
  const auto first = reader.recv_bytes();
  const auto second = reader.recv_bytes();
  sender.join();
  EXPECT_TRUE(std::ranges::equal(first, std::span(contents).subspan(1000, 2'500'000)));
  EXPECT_TRUE(std::ranges::equal(second, std::span(contents).subspan(2'501'000, 10)));
  EXPECT_EQ(::lseek(file.get(), 0, SEEK_CUR), 2'501'010);
}

TEST(Splice, send_from_fd_reads_from_a_pipe_or_a_socket_too) {
  auto [reader, writer] = pipes::make_pipe();
  const auto contents = pattern(50000, 2);
  auto [source_read, source_write] = pipes::open_pipe();
  pipes::write_all(source_write, contents);
  writer.send_from_fd(source_read.get(), contents.size());
  EXPECT_EQ(reader.recv_bytes(), contents);

  int sockets[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sockets), 0);
  const pipes::fd a(sockets[0]);
  const pipes::fd b(sockets[1]);
  pipes::write_all(a, contents);
  writer.send_from_fd(b.get(), contents.size());
  EXPECT_EQ(reader.recv_bytes(), contents);
}

// A relay: B forwards a message from the pipe a zero-copy sender A writes to (vmsplice from A's
// staging ring) into another connection with send_from_fd, then drains more of A's messages
// while the relayed one still waits in the second pipe. A reuses its ring pages once its own pipe
// has moved on, so a relay that passed on references to them would deliver A's later bytes.
TEST(Splice, send_from_fd_relays_a_zero_copy_senders_message_intact) {
  constexpr std::size_t size = 256u << 10;
  constexpr int later_messages = 12;  // 3 MiB: more than A's staging ring, so it wraps
  auto [from_a, a] = pipes::make_pipe();
  auto [c, b] = pipes::make_pipe();
  ASSERT_TRUE(a.opts().zero_copy);
  ASSERT_GE(b.capacity(), size + 8) << "the relayed message must wait whole in the second pipe";
  auto [source_read, unused] = from_a.release();
  const pipes::fd& source = source_read;
  const std::vector<std::byte> relayed(size, std::byte{'A'});
  const auto header_of = [&] {
    std::byte header[4];
    ASSERT_EQ(pipes::read_full(source, header), sizeof header);
  };

  a.send_bytes(relayed);
  header_of();
  b.send_from_fd(source.get(), size);
  std::vector<std::byte> drained(size);
  for (int i = 0; i < later_messages; ++i) {
    a.send_bytes(std::vector<std::byte>(size, std::byte{static_cast<unsigned char>('a' + i)}));
    header_of();
    ASSERT_EQ(pipes::read_full(source, drained), size);
  }
  const auto got = c.recv_bytes();
  EXPECT_EQ(std::ranges::count(got, std::byte{'A'}), static_cast<std::ptrdiff_t>(size))
      << "bytes of A's later messages reached the relayed one";
}

ssize_t refused_splice(int, loff_t*, int, loff_t*, size_t, unsigned int) {
  errno = EINVAL;
  return -1;
}

TEST(Splice, refused_splice_falls_back_to_copying) {
  const auto contents = pattern(300000, 3);
  const pipes::fd file = file_with(contents);
  auto [reader, writer] = pipes::make_pipe();
  pipes::scoped_syscall refuse(&pipes::syscall_table::splice, &refused_splice);
  writer.send_from_fd(file.get(), contents.size());
  EXPECT_EQ(reader.recv_bytes(), contents);
  writer.send_bytes(contents);
  pipes::fd out = temp_file();
  EXPECT_EQ(reader.recv_into_fd(out.get()), contents.size());
  EXPECT_EQ(file_contents(out), contents);
}

TEST(Splice, a_source_that_ends_early_is_source_ended_and_breaks_the_send_side) {
  const auto contents = pattern(10, 4);
  const pipes::fd file = file_with(contents);
  auto [reader, writer] = pipes::make_pipe();
  std::error_code ec;
  writer.send_from_fd(file.get(), 100, ec);
  EXPECT_EQ(ec, pipes::errc::source_ended);
  writer.send_bytes(contents, ec);  // the frame promised 100 bytes: no way back in step
  EXPECT_EQ(ec, pipes::errc::source_ended);
  writer.close();
  std::error_code eof;
  reader.recv_bytes(eof);
  EXPECT_EQ(eof, pipes::errc::peer_closed_mid_message);
}

TEST(Splice, recv_into_fd_appends_each_message_to_a_file) {
  auto [reader, writer] = pipes::make_pipe();
  const auto small = pattern(100, 5);
  const auto large = pattern(2 << 20, 6);
  const auto medium = pattern(20000, 7);
  std::thread sender([&, &writer = writer] {
    const std::span<const std::byte> batch[] = {small, medium};
    writer.send_bytes(small);
    writer.send_bytes(large);  // zero copy: the reader splices pages from the sender's ring
    writer.send_batch(batch);
    writer.send_bytes({});
  });
  pipes::fd out = temp_file();
  EXPECT_EQ(reader.recv_into_fd(out.get()), small.size());
  EXPECT_EQ(reader.recv_into_fd(out.get()), large.size());
  EXPECT_EQ(reader.recv_into_fd(out.get()), small.size());  // read ahead with the next one
  EXPECT_EQ(reader.recv_into_fd(out.get()), medium.size());
  EXPECT_EQ(reader.recv_into_fd(out.get()), 0u);
  sender.join();
  EXPECT_EQ(file_contents(out), concat({small, large, small, medium}));
}

TEST(Splice, recv_into_fd_works_with_files_opened_for_append) {
  auto [reader, writer] = pipes::make_pipe();
  char name[] = "/tmp/pipes_append_XXXXXX";
  const pipes::fd created(::mkostemp(name, O_CLOEXEC));
  const pipes::fd out(::open(name, O_WRONLY | O_APPEND | O_CLOEXEC));
  ::unlink(name);
  const auto message = pattern(200000, 8);
  writer.send_bytes(message);
  EXPECT_EQ(reader.recv_into_fd(out.get()), message.size());
  EXPECT_EQ(file_contents(created), message);
}

TEST(Splice, recv_into_fd_copies_into_sockets_and_pipes) {
  auto [reader, writer] = pipes::make_pipe();
  int sockets[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sockets), 0);
  const pipes::fd a(sockets[0]);
  const pipes::fd b(sockets[1]);
  const auto message = pattern(150000, 9);
  std::thread sender([&writer = writer, &message] {
    writer.send_bytes(message);
    writer.send_bytes(message);
  });
  std::vector<std::byte> got(message.size());
  std::thread drain([&] { pipes::read_full(b, got); });
  EXPECT_EQ(reader.recv_into_fd(a.get()), message.size());
  drain.join();
  EXPECT_EQ(got, message);

  auto [out_read, out_write] = pipes::open_pipe();
  std::thread drain_pipe([&, &out_read = out_read] { pipes::read_full(out_read, got); });
  EXPECT_EQ(reader.recv_into_fd(out_write.get()), message.size());
  drain_pipe.join();
  sender.join();
  EXPECT_EQ(got, message);
}

TEST(Splice, a_failing_output_skips_the_message_and_keeps_the_connection) {
  auto [reader, writer] = pipes::make_pipe();
  const pipes::fd read_only(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  writer.send_bytes(pattern(100000, 10));
  writer.send_bytes(pattern(50, 11));
  std::error_code ec;
  reader.recv_into_fd(read_only.get(), ec);
  EXPECT_EQ(ec, std::errc::bad_file_descriptor);
  EXPECT_EQ(reader.recv_bytes(), pattern(50, 11));
}

TEST(Splice, an_invalid_output_leaves_the_message_pending) {
  auto [reader, writer] = pipes::make_pipe();
  writer.send_bytes(pattern(1000, 12));
  std::error_code ec;
  reader.recv_into_fd(-1, ec);
  EXPECT_EQ(ec, std::errc::bad_file_descriptor);
  EXPECT_EQ(reader.recv_bytes(), pattern(1000, 12));
}

}  // namespace
