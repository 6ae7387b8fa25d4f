// Pipe sizing: as large as allowed, never failing, and the real size reported.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include "pipes/connection.hpp"
#include "syscalls.hpp"
#include "test_support.hpp"

namespace {

std::size_t proc_pipe_max_size() {
  std::ifstream in("/proc/sys/fs/pipe-max-size");
  std::size_t value = 0;
  in >> value;
  return value;
}

std::size_t kernel_pipe_size(int fd) { return static_cast<std::size_t>(::fcntl(fd, F_GETPIPE_SZ)); }

TEST(Capacity, defaults_take_the_system_maximum_and_report_it) {
  const std::size_t max = proc_pipe_max_size();
  ASSERT_GT(max, 0u);
  auto [reader, writer] = pipes::make_pipe();
  EXPECT_EQ(writer.capacity(), max);
  EXPECT_EQ(reader.capacity(), max);
  EXPECT_EQ(kernel_pipe_size(writer.write_fd()), max);
  auto [a, b] = pipes::make_duplex();
  EXPECT_EQ(a.capacity(), max);
  EXPECT_EQ(b.capacity(), max);
}

TEST(Capacity, zero_leaves_the_kernel_default) {
  pipes::options opts;
  opts.pipe_capacity = 0;
  auto [reader, writer] = pipes::make_pipe(opts);
  EXPECT_EQ(writer.capacity(), kernel_pipe_size(writer.write_fd()));
  EXPECT_LE(writer.capacity(), 64u * 1024);
}

TEST(Capacity, requests_are_rounded_up_by_the_kernel) {
  pipes::options opts;
  opts.pipe_capacity = 100000;
  auto [reader, writer] = pipes::make_pipe(opts);
  EXPECT_EQ(writer.capacity(), 128u * 1024);
  EXPECT_EQ(kernel_pipe_size(writer.write_fd()), 128u * 1024);
}

int refuse_above_256k(int fd, int cmd, int arg) {
  if (cmd == F_SETPIPE_SZ && arg > 256 * 1024) {
    errno = EPERM;
    return -1;
  }
  return pipes::real_syscalls().fcntl(fd, cmd, arg);
}

int refuse_every_resize(int fd, int cmd, int arg) {
  if (cmd == F_SETPIPE_SZ) {
    errno = EPERM;
    return -1;
  }
  return pipes::real_syscalls().fcntl(fd, cmd, arg);
}

TEST(Capacity, refused_size_falls_back_by_halving) {
  pipes::options opts;
  opts.pipe_capacity = 4 << 20;
  pipes::scoped_syscall refuse(&pipes::syscall_table::fcntl, &refuse_above_256k);
  auto [reader, writer] = pipes::make_pipe(opts);
  EXPECT_EQ(writer.capacity(), 256u * 1024);
  EXPECT_EQ(kernel_pipe_size(writer.write_fd()), 256u * 1024);
  const auto message = pipes_test::pattern(200000, 1);
  writer.send_bytes(message);
  EXPECT_EQ(reader.recv_bytes(), message);
}

TEST(Capacity, refusing_every_size_keeps_the_default_and_works) {
  pipes::scoped_syscall refuse(&pipes::syscall_table::fcntl, &refuse_every_resize);
  auto [reader, writer] = pipes::make_pipe();
  EXPECT_EQ(writer.capacity(), kernel_pipe_size(writer.write_fd()));
  EXPECT_LE(writer.capacity(), 64u * 1024);
  const auto message = pipes_test::pattern(50000, 2);
  writer.send_bytes(message);
  EXPECT_EQ(reader.recv_bytes(), message);
}

int no_proc(const char*, int) {
  errno = ENOENT;
  return -1;
}

TEST(Capacity, unreadable_proc_falls_back_to_the_kernel_default_maximum) {
  pipes::scoped_syscall hide(&pipes::syscall_table::open, &no_proc);
  auto [reader, writer] = pipes::make_pipe();
  EXPECT_EQ(writer.capacity(), 1024u * 1024);
}

TEST(Capacity, unprivileged_request_above_the_limit_falls_back_to_the_limit) {
  const std::size_t max = proc_pipe_max_size();
  // Root may exceed pipe-max-size, so drop to an unprivileged user in a child.
  const int status = pipes_test::run_in_child([max] {
    if (::geteuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0)) return 77;
    pipes::options opts;
    opts.pipe_capacity = 4 * max;
    auto [reader, writer] = pipes::make_pipe(opts);
    if (::fcntl(writer.write_fd(), F_SETPIPE_SZ, static_cast<int>(4 * max)) != -1) return 78;
    if (writer.capacity() != max) return 2;
    if (kernel_pipe_size(writer.write_fd()) != max) return 3;
    return 0;
  });
  if (pipes_test::exited_with(status, 77)) GTEST_SKIP() << "cannot drop privileges here";
  if (pipes_test::exited_with(status, 78)) {
    GTEST_SKIP() << "the kernel let an unprivileged user exceed pipe-max-size";
  }
  EXPECT_TRUE(pipes_test::exited_with(status, 0)) << status;
}

// Streams messages of up to `largest` bytes through `opts` with a reader that pauses now and then,
// checking every byte.
void stream_through(const pipes::options& opts, std::size_t largest) {
  auto [reader, writer] = pipes::make_pipe(opts);
  std::thread sender([&writer = writer, largest] {
    for (std::size_t i = 0; i < 24; ++i) {
      const std::size_t size = largest >> (i % 6);
      if (i % 2 == 0) {
        writer.send_bytes(pipes_test::pattern(size, i));
      } else {
        pipes_test::fill_pattern(writer.loan(size), i);
        writer.commit();
      }
    }
  });
  for (std::size_t i = 0; i < 24; ++i) {
    if (i % 5 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    EXPECT_TRUE(reader.recv_bytes() == pipes_test::pattern(largest >> (i % 6), i)) << i;
  }
  sender.join();
}

bool has_cap_sys_resource() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("CapEff:", 0) == 0) return (std::stoull(line.substr(7), nullptr, 16) >> 24) & 1;
  }
  return false;
}

// With CAP_SYS_RESOURCE a request above pipe-max-size is granted whole, without touching the
// system setting, and the staging ring and the reader's pieces follow the capacity got.
TEST(Capacity, a_privileged_request_above_the_limit_is_granted_and_used) {
  if (!has_cap_sys_resource()) GTEST_SKIP() << "no CAP_SYS_RESOURCE here";
  const std::size_t max = proc_pipe_max_size();
  pipes::options opts;
  opts.pipe_capacity = 4 * max;
  auto [reader, writer] = pipes::make_pipe(opts);
  EXPECT_EQ(writer.capacity(), 4 * max);
  EXPECT_EQ(kernel_pipe_size(writer.write_fd()), 4 * max);
  EXPECT_EQ(proc_pipe_max_size(), max);
  stream_through(opts, 16 * max);
}

// The same sizing without the privilege: the library is told (through the syscall seam) that
// the pipe holds 8 MiB while the kernel's pipe holds less. The ring is then sized, and chunks
// cut, for 8 MiB (4 MiB vmsplices into a smaller pipe, partial every time); since the ring's
// rule counts a capacity larger than the real one, it only reuses memory later than it could.
int report_8m(int fd, int cmd, int arg) {
  if (cmd == F_SETPIPE_SZ && arg >= (8 << 20)) return 8 << 20;
  if (cmd == F_GETPIPE_SZ) return 8 << 20;
  return pipes::real_syscalls().fcntl(fd, cmd, arg);
}

TEST(Capacity, a_capacity_of_many_mib_sizes_the_ring_and_pieces_and_loses_nothing) {
  pipes::options opts;
  opts.pipe_capacity = 8 << 20;
  pipes::scoped_syscall pretend(&pipes::syscall_table::fcntl, &report_8m);
  stream_through(opts, 24u << 20);
}

TEST(Capacity, a_pipe_only_read_from_is_left_as_its_writer_sized_it) {
  auto [r, w] = pipes::open_pipe();
  const std::size_t before = kernel_pipe_size(r.get());
  pipes::Connection reader(std::move(r), pipes::fd());
  EXPECT_EQ(reader.capacity(), before);
  EXPECT_EQ(kernel_pipe_size(w.get()), before);
}

TEST(Capacity, packet_mode_is_cleared_on_the_write_end) {
  int raw[2];
  ASSERT_EQ(::pipe2(raw, O_CLOEXEC | O_DIRECT), 0);
  pipes::Connection writer{pipes::fd(), pipes::fd(raw[1])};
  pipes::options exact;
  exact.read_ahead = false;
  pipes::Connection reader{pipes::fd(raw[0]), pipes::fd(), exact};
  EXPECT_EQ(::fcntl(writer.write_fd(), F_GETFL) & O_DIRECT, 0);
  // In packet mode a short read (a 4-byte header) would throw the rest of the packet away.
  const auto message = pipes_test::pattern(3000, 3);
  writer.send_bytes(message);
  writer.send_bytes(message);
  EXPECT_EQ(reader.recv_bytes(), message);
  EXPECT_EQ(reader.recv_bytes(), message);
}

}  // namespace
