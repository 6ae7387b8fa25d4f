// One descriptor for both directions (a Unix stream socket, as Python's default duplex Pipe()
// gives): owned and closed once, and messages of every size class both ways with the levers that
// need a pipe off by themselves.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>
#include <vector>

#include "pipes/connection.hpp"
#include "syscalls.hpp"
#include "test_support.hpp"

namespace {

using pipes_test::pattern;

int watched = -1;
int closes_of_watched = 0;
int counting_close(int fd) {
  if (fd == watched) ++closes_of_watched;
  return pipes::real_syscalls().close(fd);
}

TEST(DuplexSocket, one_descriptor_for_both_directions_is_closed_exactly_once) {
  auto [mine, theirs] = pipes::open_socketpair(SOCK_STREAM);
  watched = mine.get();
  closes_of_watched = 0;
  pipes::scoped_syscall counting(&pipes::syscall_table::close, &counting_close);
  {
    const int socket = mine.release();
    auto connection = pipes::Connection::adopt(socket, socket);
    EXPECT_EQ(connection.read_fd(), socket);
    EXPECT_NE(connection.write_fd(), socket);  // its own duplicate
  }
  EXPECT_EQ(closes_of_watched, 1);
  watched = -1;
}

TEST(DuplexSocket, moves_every_size_class_both_ways_with_the_default_options) {
  auto [left_socket, right_socket] = pipes::open_socketpair(SOCK_STREAM);
  const int l = left_socket.release();
  const int r = right_socket.release();
  auto left = pipes::Connection::adopt(l, l);
  auto right = pipes::Connection::adopt(r, r);
  EXPECT_FALSE(left.uses_zero_copy()) << "vmsplice needs a pipe";
  EXPECT_EQ(left.capacity(), 0u) << "not a pipe";
  const std::vector<std::size_t> sizes = {0, 1, 255, 8192, 16385, 65537, 1u << 20, 9u << 20};
  std::thread echo([&right = right, &sizes] {
    for (std::size_t i = 0; i < sizes.size(); ++i) right.send_bytes(right.recv_bytes());
  });
  for (const std::size_t size : sizes) {
    const auto message = pattern(size, size);
    left.send_bytes(message);
    EXPECT_EQ(left.recv_bytes(), message) << size;
  }
  echo.join();
}

}  // namespace
