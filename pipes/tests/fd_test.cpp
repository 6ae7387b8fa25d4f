#include "pipes/fd.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "syscalls.hpp"

namespace {

bool is_open(int raw) { return ::fcntl(raw, F_GETFD) != -1; }

TEST(Fd, destructor_and_move_assignment_close) {
  auto [r, w] = pipes::open_pipe();
  const int raw_r = r.get();
  const int raw_w = w.get();
  {
    pipes::fd moved = std::move(r);
    EXPECT_FALSE(r);
    EXPECT_EQ(moved.get(), raw_r);
  }
  EXPECT_FALSE(is_open(raw_r));
  pipes::fd other;
  other = std::move(w);
  other = pipes::fd();
  EXPECT_FALSE(is_open(raw_w));
}

TEST(Fd, release_gives_up_ownership) {
  auto [r, w] = pipes::open_pipe();
  const int raw = r.release();
  EXPECT_FALSE(r);
  EXPECT_TRUE(is_open(raw));
  ::close(raw);
}

bool closes_on_exec(const pipes::fd& f) { return (::fcntl(f.get(), F_GETFD) & FD_CLOEXEC) != 0; }

TEST(Fd, open_pipe_gives_two_close_on_exec_ends_of_one_pipe) {
  auto [r, w] = pipes::open_pipe();
  EXPECT_TRUE(closes_on_exec(r));
  EXPECT_TRUE(closes_on_exec(w));
  const std::byte sent[] = {std::byte{1}, std::byte{2}, std::byte{3}};
  pipes::write_all(w, sent);
  std::byte got[3] = {};
  EXPECT_EQ(pipes::read_full(r, got), 3u);
  EXPECT_EQ(std::memcmp(got, sent, 3), 0);
}

TEST(Fd, open_pipe_reports_a_failing_pipe2) {
  pipes::scoped_syscall fail(
      &pipes::syscall_table::pipe2, +[](int*, int) {
        errno = EMFILE;
        return -1;
      });
  try {
    pipes::open_pipe();
    FAIL() << "open_pipe succeeded";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), std::errc::too_many_files_open);
  }
}

TEST(Fd, open_socketpair_connects_both_ways_and_duplicate_shares_the_socket) {
  auto [a, b] = pipes::open_socketpair(SOCK_STREAM);
  EXPECT_TRUE(closes_on_exec(a));
  const pipes::fd a_again = pipes::duplicate(a);
  EXPECT_NE(a_again.get(), a.get());
  EXPECT_TRUE(closes_on_exec(a_again));
  const std::byte one[] = {std::byte{7}};
  pipes::write_all(a_again, one);  // written through the copy, read at the other end
  std::byte got[1] = {};
  EXPECT_EQ(pipes::read_full(b, got), 1u);
  EXPECT_EQ(got[0], std::byte{7});
  pipes::write_all(b, one);
  EXPECT_EQ(pipes::read_full(a, got), 1u);
}

int eintr_budget = 0;
ssize_t read_with_eintr(int fd, void* buf, size_t n) {
  if (eintr_budget > 0) {
    --eintr_budget;
    errno = EINTR;
    return -1;
  }
  return pipes::real_syscalls().read(fd, buf, n);
}
ssize_t short_write(int fd, const void* buf, size_t n) {
  if (eintr_budget > 0) {
    --eintr_budget;
    errno = EINTR;
    return -1;
  }
  return pipes::real_syscalls().write(fd, buf, n < 3 ? n : 3);
}

TEST(Fd, read_full_and_write_all_survive_eintr_and_short_writes) {
  auto [r, w] = pipes::open_pipe();
  const char text[] = "hello, pipes";
  {
    eintr_budget = 3;
    pipes::scoped_syscall guard(&pipes::syscall_table::write, &short_write);
    pipes::write_all(w, std::as_bytes(std::span(text)));
  }
  w.close();
  char got[sizeof text] = {};
  eintr_budget = 3;
  pipes::scoped_syscall guard(&pipes::syscall_table::read, &read_with_eintr);
  EXPECT_EQ(pipes::read_full(r, std::as_writable_bytes(std::span(got))), sizeof text);
  EXPECT_STREQ(got, text);
  EXPECT_EQ(eintr_budget, 0);
}

TEST(Fd, read_full_stops_short_at_end_of_file) {
  auto [r, w] = pipes::open_pipe();
  pipes::write_all(w, std::as_bytes(std::span("abc", 3)));
  w.close();
  std::byte buf[10];
  EXPECT_EQ(pipes::read_full(r, buf), 3u);
}

TEST(Fd, errors_carry_errno_in_both_forms) {
  pipes::fd none;
  std::byte buf[1];
  std::error_code ec;
  none.read(buf, ec);
  EXPECT_EQ(ec, std::errc::bad_file_descriptor);
  EXPECT_THROW(none.read(buf), std::system_error);
}

}  // namespace
