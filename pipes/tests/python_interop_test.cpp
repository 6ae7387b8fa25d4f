// Interop with a real Python process (python_peer.py) that wraps inherited descriptors in
// multiprocessing.connection.Connection and uses send_bytes/recv_bytes: every size class up to
// 64 MiB both ways with the levers on (zero copy included) and off, every send and receive call
// of pipes against Python, and end of file seen from both sides. python_compat_test.cpp is the
// small smoke test; this is the thorough one. Skipped when python3 is missing.
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "pipes/connection.hpp"
#include "test_support.hpp"

extern char** environ;

namespace {

// Found by CMake's find_program at configure time ("" when it was not found).
constexpr const char* python3 = PIPES_PYTHON3;
constexpr const char* peer_script = PIPES_PYTHON_PEER;

// Why the tests cannot run here, or "" when they can.
const std::string& unavailable() {
  static const std::string reason = [] {
    if (python3[0] == '\0') return std::string("python3 was not found when configuring");
    if (::access(python3, X_OK) != 0) return std::string(python3) + " is not executable";
    const std::string probe =
        std::string("'") + python3 + "' -c 'import multiprocessing.connection' >/dev/null 2>&1";
    if (std::system(probe.c_str()) != 0) {
      return std::string(python3) + " cannot import multiprocessing.connection";
    }
    return std::string();
  }();
  return reason;
}

#define SKIP_WITHOUT_PYTHON() \
  if (!unavailable().empty()) GTEST_SKIP() << unavailable()

// A running python_peer.py and the connection to it (reads what Python sends, writes what Python
// reads).
struct python_peer {
  pid_t pid = -1;
  pipes::Connection conn;

  python_peer() = default;
  python_peer(python_peer&& other) noexcept
      : pid(std::exchange(other.pid, -1)), conn(std::move(other.conn)) {}
  python_peer& operator=(python_peer&&) = delete;

  // Waits for Python to exit; returns its wait status.
  int wait() {
    const int status = pipes_test::wait_child(pid);
    pid = -1;
    return status;
  }
  ~python_peer() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      pipes_test::wait_child(pid);
    }
  }
};

// What links the test to Python: two pipes (Python's Pipe(duplex=False), one per direction), or
// one Unix stream socket for both directions (the default, duplex Pipe()).
enum class link { pipes, duplex_socket };

// Starts `python3 python_peer.py MODE IN OUT [extra]` with only its ends inherited (a posix_spawn
// dup2 onto the same number clears O_CLOEXEC in the child alone).
python_peer start_python(const std::string& mode, const pipes::options& opts,
                         const std::string& extra = {}, link how = link::pipes) {
  pipes::fd mine_in, mine_out, theirs_in, theirs_out;
  if (how == link::pipes) {
    auto [to_python_read, to_python_write] = pipes::open_pipe();
    auto [from_python_read, from_python_write] = pipes::open_pipe();
    mine_in = std::move(from_python_read);
    mine_out = std::move(to_python_write);
    theirs_in = std::move(to_python_read);
    theirs_out = std::move(from_python_write);
  } else {
    auto [mine, theirs] = pipes::open_socketpair(SOCK_STREAM);
    mine_in = std::move(mine);
    theirs_in = std::move(theirs);
  }
  const int python_in = theirs_in.get();
  const int python_out = theirs_out ? theirs_out.get() : python_in;
  std::vector<std::string> args = {python3, peer_script, mode, std::to_string(python_in),
                                   std::to_string(python_out)};
  if (!extra.empty()) args.push_back(extra);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, python_in, python_in);
  if (python_out != python_in) posix_spawn_file_actions_adddup2(&actions, python_out, python_out);
  python_peer peer;
  const int spawned = ::posix_spawn(&peer.pid, python3, &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) {
    peer.pid = -1;
    throw std::system_error(spawned, std::system_category(), "posix_spawn");
  }
  // Only Python holds these now: its death or close reads as end of file here.
  theirs_in.close();
  theirs_out.close();
  if (how == link::duplex_socket) {
    // One descriptor for both directions, as a user adopts the socket of a duplex Pipe().
    const int socket = mine_in.release();
    peer.conn = pipes::Connection::adopt(socket, socket, opts);
  } else {
    peer.conn = pipes::Connection(std::move(mine_in), std::move(mine_out), opts);
  }
  return peer;
}

// Byte j of python_peer.py's pattern(size, seed): (j + seed) % 251.
bool is_python_pattern(const std::vector<std::byte>& message, std::size_t seed) {
  for (std::size_t j = 0; j < message.size(); ++j) {
    if (message[j] != static_cast<std::byte>((j + seed) % 251)) return false;
  }
  return true;
}

std::vector<std::byte> reversed(std::vector<std::byte> bytes) {
  std::reverse(bytes.begin(), bytes.end());
  return bytes;
}

// Around every boundary that matters: pipes' coalescing (256), the zero-copy threshold (8 KiB),
// Python's single-write limit (16 KiB), the default pipe (64 KiB), the tuned pipe (1 MiB), and a
// message much larger than any pipe.
const std::vector<std::size_t> sizes = {
    0,        1,     7,     8,     9,     255,   256,   257,    4096,   8191,     8192,
    8193,     16383, 16384, 16385, 65535, 65536, 65537, 100000, 524288, 1u << 20, (1u << 20) + 1,
    64u << 20};

// Each size goes to Python and comes back reversed: once with send_bytes and recv_bytes, and
// (up to a few MiB) once more with loan/commit and recv_bytes_into. Then pipes closes, and Python
// must leave through EOFError (exit status 0).
void every_size_both_ways(const pipes::options& opts, link how = link::pipes) {
  auto python = start_python("echo", opts, {}, how);
  std::vector<std::byte> into(2u << 20);
  for (const std::size_t size : sizes) {
    SCOPED_TRACE("size " + std::to_string(size));
    const auto message = pipes_test::pattern(size, size + 1);
    const auto expected = reversed(message);
    python.conn.send_bytes(message);
    EXPECT_EQ(python.conn.recv_bytes(), expected);
    if (size > into.size()) continue;
    auto loan = python.conn.loan(size);
    std::copy(message.begin(), message.end(), loan.begin());
    python.conn.commit();
    const std::size_t got = python.conn.recv_bytes_into(into);
    ASSERT_EQ(got, size);
    EXPECT_TRUE(std::equal(expected.begin(), expected.end(), into.begin()));
  }
  python.conn.close();
  EXPECT_TRUE(pipes_test::exited_with(python.wait(), 0)) << "Python did not end on EOFError";
}

TEST(PythonInterop, every_size_both_ways_with_default_options_and_zero_copy) {
  SKIP_WITHOUT_PYTHON();
  pipes::options opts;
  ASSERT_TRUE(opts.zero_copy && opts.gather_writes && opts.read_ahead);
  every_size_both_ways(opts);
}

TEST(PythonInterop, every_size_both_ways_with_every_lever_off) {
  SKIP_WITHOUT_PYTHON();
  every_size_both_ways(pipes::levers_off());
}

// Python's default Pipe() is one socket for both directions: adopted once, with the levers that
// need a pipe off by themselves and the others (gathered writes, read-ahead) on.
TEST(PythonInterop, every_size_both_ways_over_the_socket_of_a_duplex_pipe) {
  SKIP_WITHOUT_PYTHON();
  every_size_both_ways(pipes::options{}, link::duplex_socket);
  every_size_both_ways(pipes::levers_off(), link::duplex_socket);
}

TEST(PythonInterop, end_of_file_both_ways_over_the_socket_of_a_duplex_pipe) {
  SKIP_WITHOUT_PYTHON();
  {  // pipes closes: Python leaves through EOFError
    auto python = start_python("echo", {}, {}, link::duplex_socket);
    EXPECT_FALSE(python.conn.uses_zero_copy());
    EXPECT_EQ(python.conn.capacity(), 0u);
    python.conn.send_bytes(pipes_test::pattern(100000, 3));
    EXPECT_EQ(python.conn.recv_bytes(), reversed(pipes_test::pattern(100000, 3)));
    python.conn = pipes::Connection();
    EXPECT_TRUE(pipes_test::exited_with(python.wait(), 0));
  }
  {  // Python closes between messages: peer_closed here
    auto python = start_python("generate", {}, "5", link::duplex_socket);
    for (std::size_t i = 0; i < 5; ++i) EXPECT_EQ(python.conn.recv_bytes().size(), i);
    std::error_code ec;
    python.conn.recv_bytes(ec);
    EXPECT_EQ(ec, pipes::errc::peer_closed);
    EXPECT_TRUE(pipes_test::exited_with(python.wait(), 0));
  }
}

// Thousands of small and medium messages in flight at once in both directions (a thread receives
// the echoes while the main thread sends), through send_batch, send_parts and loan/commit, so
// that frames straddle pipes' read-ahead buffer and Python's reads at every offset.
void streams_both_ways(const pipes::options& opts) {
  auto python = start_python("echo", opts);
  constexpr std::size_t count = 3000;
  auto size_of = [](std::size_t i) { return (i * 37) % 700 + (i % 50 == 0 ? 20000 : 0); };
  std::vector<std::vector<std::byte>> messages;
  for (std::size_t i = 0; i < count; ++i) messages.push_back(pipes_test::pattern(size_of(i), i));

  std::size_t received = 0;
  std::size_t mismatches = 0;
  std::error_code receive_error;
  std::thread receiver([&] {
    std::vector<std::byte> buffer(32 << 10);
    for (; received < count; ++received) {
      const auto& m = messages[received];
      const std::size_t n = python.conn.recv_bytes_into(buffer, receive_error);
      if (receive_error) return;
      if (n != m.size() || !std::equal(m.rbegin(), m.rend(), buffer.begin())) ++mismatches;
    }
  });
  std::size_t i = 0;
  while (i < count) {
    switch (i % 3) {
      case 0: {  // a batch of up to 64 messages in as few writes as possible
        std::vector<std::span<const std::byte>> batch;
        for (std::size_t k = 0; k < 64 && i < count; ++k, ++i) batch.emplace_back(messages[i]);
        python.conn.send_batch(batch);
        break;
      }
      case 1: {  // one message gathered from three parts
        const std::span<const std::byte> m(messages[i++]);
        const std::size_t a = m.size() / 3;
        const std::size_t b = 2 * m.size() / 3;
        const std::span<const std::byte> parts[] = {m.first(a), m.subspan(a, b - a), m.subspan(b)};
        python.conn.send_parts(parts);
        break;
      }
      default: {  // built in place
        const auto& m = messages[i++];
        auto loan = python.conn.loan(m.size());
        std::copy(m.begin(), m.end(), loan.begin());
        python.conn.commit();
      }
    }
  }
  receiver.join();
  EXPECT_FALSE(receive_error) << receive_error.message();
  EXPECT_EQ(received, count);
  EXPECT_EQ(mismatches, 0u);
  python.conn.close();
  EXPECT_TRUE(pipes_test::exited_with(python.wait(), 0));
}

TEST(PythonInterop, streams_of_messages_both_ways_at_once) {
  SKIP_WITHOUT_PYTHON();
  streams_both_ways(pipes::options{});
  streams_both_ways(pipes::levers_off());
}

TEST(PythonInterop, python_sees_eof_error_when_pipes_closes) {
  SKIP_WITHOUT_PYTHON();
  for (const auto& opts : {pipes::options{}, pipes::levers_off()}) {
    {  // before any message
      auto python = start_python("echo", opts);
      python.conn.close();
      EXPECT_TRUE(pipes_test::exited_with(python.wait(), 0));
    }
    {  // after a large zero-copy message, by destroying the connection
      auto python = start_python("echo", opts);
      const auto message = pipes_test::pattern(3u << 20, 9);
      python.conn.send_bytes(message);
      EXPECT_EQ(python.conn.recv_bytes(), reversed(message));
      python.conn = pipes::Connection();
      EXPECT_TRUE(pipes_test::exited_with(python.wait(), 0));
    }
  }
}

TEST(PythonInterop, pipes_reports_peer_closed_when_python_closes) {
  SKIP_WITHOUT_PYTHON();
  for (const auto& opts : {pipes::options{}, pipes::levers_off()}) {
    constexpr std::size_t count = 100;
    auto python = start_python("generate", opts, std::to_string(count));
    for (std::size_t i = 0; i < count; ++i) {
      const auto message = python.conn.recv_bytes();
      ASSERT_EQ(message.size(), i);
      EXPECT_TRUE(is_python_pattern(message, i)) << "message " << i;
    }
    // The stream ends between messages: Python's EOFError.
    std::error_code ec;
    const auto nothing = python.conn.recv_bytes(ec);
    EXPECT_EQ(ec, pipes::errc::peer_closed);
    EXPECT_TRUE(nothing.empty());
    try {
      python.conn.recv_bytes();
      ADD_FAILURE() << "recv_bytes after end of file did not throw";
    } catch (const pipes::error& e) {
      EXPECT_EQ(e.code(), pipes::errc::peer_closed);
    }
    // Once Python has exited its read end is gone too: a send reports peer_closed, and SIGPIPE
    // does not kill this process.
    EXPECT_TRUE(pipes_test::exited_with(python.wait(), 0));
    const auto message = pipes_test::pattern(100000, 1);
    python.conn.send_bytes(message, ec);
    EXPECT_EQ(ec, pipes::errc::peer_closed);
  }
}

TEST(PythonInterop, pipes_reports_peer_closed_mid_message_when_python_dies) {
  SKIP_WITHOUT_PYTHON();
  for (const auto& opts : {pipes::options{}, pipes::levers_off()}) {
    // Python writes a header announcing 1 MiB, then 10 bytes, then dies.
    auto python = start_python("truncate", opts);
    std::error_code ec;
    python.conn.recv_bytes(ec);
    EXPECT_EQ(ec, pipes::errc::peer_closed_mid_message);
    std::vector<std::byte> buffer(2u << 20);
    python.conn.recv_bytes_into(buffer, ec);  // the receive side stays unusable
    EXPECT_EQ(ec, pipes::errc::peer_closed_mid_message);
    EXPECT_TRUE(pipes_test::exited_with(python.wait(), 0));
  }
}

}  // namespace
