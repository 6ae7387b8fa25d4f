#include "forked_peer.hpp"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>

#include "test_stream.hpp"

namespace transport_test {

forked_peer::forked_peer(std::unique_ptr<baselines::Transport>& transport, baselines::Role role,
                         const body_fn& body) {
  auto [opened_in, opened_out] = pipes::open_pipe();
  auto [errors_in, errors_out] = pipes::open_pipe();
  const pid_t parent = ::getpid();
  pid_ = ::fork();
  if (pid_ < 0) throw std::system_error(errno, std::system_category(), "fork");
  if (pid_ == 0) {
    opened_in.close();
    errors_in.close();
    int status = 0;
    try {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(3);
      ::signal(SIGPIPE, SIG_IGN);
      auto channel = transport->open(role);
      transport.reset();
      const std::byte open_byte{'o'};
      pipes::write_all(opened_out, std::span(&open_byte, 1));
      opened_out.close();
      body(*channel);
    } catch (const std::exception& e) {
      const std::string what = e.what();
      std::error_code ignored;
      pipes::write_all(errors_out, std::as_bytes(std::span(what)), ignored);
      status = 1;
    }
    ::_exit(status);
  }
  opened_ = std::move(opened_in);
  errors_ = std::move(errors_in);
}

std::pair<std::unique_ptr<baselines::Channel>, forked_peer> forked_peer::start(
    std::unique_ptr<baselines::Transport> transport, const body_fn& body) {
  forked_peer peer(transport, baselines::Role::follower, body);
  auto channel = transport->open(baselines::Role::leader);
  transport.reset();
  return {std::move(channel), std::move(peer)};
}

forked_peer::forked_peer(forked_peer&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      opened_(std::move(other.opened_)),
      errors_(std::move(other.errors_)) {}

forked_peer::~forked_peer() {
  if (pid_ > 0) {
    kill();
    wait();
  }
}

bool forked_peer::wait_until_open() {
  std::byte byte{};
  std::error_code ec;
  const std::size_t n = opened_.read(std::span(&byte, 1), ec);
  opened_ = pipes::fd();
  return !ec && n == 1;
}

void forked_peer::kill() const noexcept {
  if (pid_ > 0) ::kill(pid_, SIGKILL);
}

std::string forked_peer::wait() {
  if (pid_ <= 0) return "not running";
  std::string error;
  char buffer[256];
  for (;;) {
    std::error_code ec;
    const std::size_t n = errors_.read(std::as_writable_bytes(std::span(buffer)), ec);
    if (ec || n == 0) break;
    error.append(buffer, n);
  }
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
  if (!error.empty()) return error;
  if (WIFSIGNALED(status)) return std::string("killed by ") + ::strsignal(WTERMSIG(status));
  if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
    return "exited with " + std::to_string(WEXITSTATUS(status));
  }
  return {};
}

std::string echo_every_size(std::unique_ptr<baselines::Transport> transport,
                            const std::vector<std::size_t>& sizes) {
  const std::size_t largest = sizes.empty() ? 0 : *std::max_element(sizes.begin(), sizes.end());
  auto [channel, peer] = forked_peer::start(
      std::move(transport), [&](baselines::Channel& c) { echo(c, sizes.size(), largest); });
  std::vector<std::byte> scratch(largest);
  std::string wrong;
  for (std::size_t i = 0; i < sizes.size() && wrong.empty(); ++i) {
    std::vector<std::byte> message(sizes[i]);
    fill(i, message);
    channel->send(message);
    if (!is_message(i, sizes[i], channel->receive(scratch))) {
      wrong = "the " + std::to_string(sizes[i]) + "-byte message came back changed";
    }
  }
  const std::string peer_error = peer.wait();
  return wrong.empty() ? peer_error : wrong;
}

}  // namespace transport_test
