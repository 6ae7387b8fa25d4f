// Wire compatibility with the real thing: a Python process using multiprocessing.connection on
// the other end of the pipes. Skipped when python3 is not installed.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <string>

#include "pipes/connection.hpp"
#include "test_support.hpp"

namespace {

// Echoes every message reversed, until EOFError.
constexpr const char* python_echo = R"(
import sys
from multiprocessing.connection import Connection
inbox = Connection(int(sys.argv[1]), writable=False)
outbox = Connection(int(sys.argv[2]), readable=False)
while True:
    try:
        message = inbox.recv_bytes()
    except EOFError:
        break
    outbox.send_bytes(message[::-1])
)";

bool have_python() {
  return std::system("python3 -c 'import multiprocessing.connection' >/dev/null 2>&1") == 0;
}

void talk_to_python(const pipes::options& opts) {
  auto [to_python_read, to_python_write] = pipes::open_pipe();
  auto [from_python_read, from_python_write] = pipes::open_pipe();
  const int in_fd = to_python_read.get();
  const int out_fd = from_python_write.get();
  const pid_t child = pipes_test::fork_child([&] {
    ::fcntl(in_fd, F_SETFD, 0);
    ::fcntl(out_fd, F_SETFD, 0);
    const std::string in = std::to_string(in_fd);
    const std::string out = std::to_string(out_fd);
    ::execlp("python3", "python3", "-c", python_echo, in.c_str(), out.c_str(),
             static_cast<char*>(nullptr));
    return 127;
  });
  to_python_read.close();
  from_python_write.close();
  pipes::Connection python(std::move(from_python_read), std::move(to_python_write), opts);
  for (std::size_t size : {0u, 1u, 16384u, 16385u, 100000u, 1u << 20}) {
    auto message = pipes_test::pattern(size, size);
    python.send_bytes(message);
    const auto reply = python.recv_bytes();
    std::reverse(message.begin(), message.end());
    EXPECT_EQ(reply, message) << size;
  }
  python.close();
  EXPECT_TRUE(pipes_test::exited_with(pipes_test::wait_child(child), 0));
}

TEST(PythonCompat, python_connection_understands_every_lever) {
  if (!have_python()) GTEST_SKIP() << "python3 with multiprocessing is not installed";
  talk_to_python(pipes::options{});
  pipes::options opts;
  opts.gather_writes = false;
  opts.read_ahead = false;
  opts.zero_copy = false;
  talk_to_python(opts);
  opts = {};
  opts.zero_copy_threshold = 1;
  talk_to_python(opts);
}

}  // namespace
