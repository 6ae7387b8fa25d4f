#include "pipes/fd.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "pipes/syscalls.hpp"

namespace {

std::pair<pipes::fd, pipes::fd> os_pipe() {
  int raw[2];
  if (::pipe2(raw, O_CLOEXEC) != 0) throw std::system_error(errno, std::system_category());
  return {pipes::fd(raw[0]), pipes::fd(raw[1])};
}

bool is_open(int raw) { return ::fcntl(raw, F_GETFD) != -1; }

TEST(Fd, destructor_and_move_assignment_close) {
  auto [r, w] = os_pipe();
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
  auto [r, w] = os_pipe();
  const int raw = r.release();
  EXPECT_FALSE(r);
  EXPECT_TRUE(is_open(raw));
  ::close(raw);
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
  auto [r, w] = os_pipe();
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
  auto [r, w] = os_pipe();
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
