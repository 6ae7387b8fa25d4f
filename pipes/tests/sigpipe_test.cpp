// SIGPIPE never kills the process: a send to a closed reader reports peer_closed, and the
// SIGPIPE the kernel raised for it is taken back without disturbing the thread's mask or a
// SIGPIPE that was not ours.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>

#include "pipes/connection.hpp"
#include "test_support.hpp"

namespace {

bool sigpipe_pending() {
  sigset_t pending;
  sigpending(&pending);
  return sigismember(&pending, SIGPIPE) == 1;
}

bool sigpipe_blocked() {
  sigset_t mask;
  pthread_sigmask(SIG_SETMASK, nullptr, &mask);
  return sigismember(&mask, SIGPIPE) == 1;
}

using send_call = std::function<void(pipes::Connection&, std::error_code&)>;

// Every way of writing, each expected to fail with peer_closed.
std::vector<std::pair<const char*, send_call>> send_calls() {
  static const auto small = pipes_test::pattern(100, 1);
  static const auto large = pipes_test::pattern(300000, 2);
  return {
      {"send_bytes", [](pipes::Connection& c, std::error_code& ec) { c.send_bytes(small, ec); }},
      {"send_bytes zero copy",
       [](pipes::Connection& c, std::error_code& ec) { c.send_bytes(large, ec); }},
      {"send_batch",
       [](pipes::Connection& c, std::error_code& ec) {
         const std::span<const std::byte> batch[] = {small, small, large};
         c.send_batch(batch, ec);
       }},
      {"commit",
       [](pipes::Connection& c, std::error_code& ec) {
         c.loan(200000, ec);
         if (!ec) c.commit(ec);
       }},
      {"send_from_fd",
       [](pipes::Connection& c, std::error_code& ec) {
         auto file = pipes_test::temp_file();
         pipes::write_all(file, large);
         ::lseek(file.get(), 0, SEEK_SET);
         c.send_from_fd(file.get(), large.size(), ec);
       }},
      {"throwing send_bytes",
       [](pipes::Connection& c, std::error_code& ec) {
         try {
           c.send_bytes(small);
         } catch (const pipes::error& e) {
           ec = e.code();
         }
       }},
  };
}

TEST(Sigpipe, send_to_closed_reader_reports_peer_closed_and_survives) {
  for (const auto& [name, call] : send_calls()) {
    const int status = pipes_test::run_in_child([&call = call] {
      ::signal(SIGPIPE, SIG_DFL);
      auto [reader, writer] = pipes::make_pipe();
      reader.close();
      std::error_code ec;
      call(writer, ec);
      if (ec != pipes::errc::peer_closed) return 2;
      if (sigpipe_pending()) return 3;
      if (sigpipe_blocked()) return 4;
      call(writer, ec);  // and again
      return ec == pipes::errc::peer_closed ? 0 : 5;
    });
    EXPECT_TRUE(pipes_test::exited_with(status, 0))
        << name << ": " << (WIFSIGNALED(status) ? "killed by signal " : "exit ")
        << (WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
  }
}

TEST(Sigpipe, a_sigpipe_the_application_has_pending_stays_pending) {
  const int status = pipes_test::run_in_child([] {
    ::signal(SIGPIPE, SIG_DFL);
    sigset_t pipe_only;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_only, nullptr);
    ::raise(SIGPIPE);  // the application's own, blocked and pending
    auto [reader, writer] = pipes::make_pipe();
    reader.close();
    std::error_code ec;
    writer.send_bytes(pipes_test::bytes_of("x"), ec);
    if (ec != pipes::errc::peer_closed) return 2;
    if (!sigpipe_pending()) return 3;  // not ours to take
    if (!sigpipe_blocked()) return 4;  // the application's mask is untouched
    return 0;
  });
  EXPECT_TRUE(pipes_test::exited_with(status, 0)) << status;
}

TEST(Sigpipe, an_ignored_sigpipe_needs_no_guard) {
  const int status = pipes_test::run_in_child([] {
    ::signal(SIGPIPE, SIG_IGN);
    auto [reader, writer] = pipes::make_pipe();
    reader.close();
    std::error_code ec;
    writer.send_bytes(pipes_test::bytes_of("x"), ec);
    return ec == pipes::errc::peer_closed ? 0 : 2;
  });
  EXPECT_TRUE(pipes_test::exited_with(status, 0)) << status;
}

TEST(Sigpipe, recv_into_a_closed_pipe_reports_epipe_and_survives) {
  const int status = pipes_test::run_in_child([] {
    ::signal(SIGPIPE, SIG_DFL);
    auto [reader, writer] = pipes::make_pipe();
    auto [sink_read, sink_write] = pipes::open_pipe();
    sink_read.close();
    writer.send_bytes(pipes_test::pattern(5000, 1));
    writer.send_bytes(pipes_test::bytes_of("next"));
    std::error_code ec;
    reader.recv_into_fd(sink_write.get(), ec);
    if (ec != std::errc::broken_pipe) return 2;
    if (sigpipe_pending() || sigpipe_blocked()) return 3;
    // The failed message was skipped; the connection is still in step.
    return pipes_test::text_of(reader.recv_bytes()) == "next" ? 0 : 4;
  });
  EXPECT_TRUE(pipes_test::exited_with(status, 0)) << status;
}

}  // namespace
