#include "forked_peer.hpp"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>
#include <vector>

#include "baselines/os_objects.hpp"

namespace baselines_test {

std::pair<std::unique_ptr<baselines::Channel>, forked_peer> forked_peer::start(
    std::unique_ptr<baselines::Transport> transport,
    std::function<void(baselines::Channel&)> body) {
  auto [error_in, error_out] = baselines::os_pipe();
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) throw std::system_error(errno, std::system_category(), "fork");
  if (pid == 0) {
    error_in.close();
    int status = 0;
    try {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(3);
      auto channel = transport->open(baselines::Role::follower);
      transport.reset();
      body(*channel);
    } catch (const std::exception& e) {
      const std::string what = e.what();
      std::error_code ignored;
      pipes::write_all(error_out, std::as_bytes(std::span(what)), ignored);
      status = 1;
    }
    ::_exit(status);
  }
  error_out.close();
  forked_peer peer(pid, std::move(error_in));
  auto channel = transport->open(baselines::Role::leader);
  transport.reset();
  return {std::move(channel), std::move(peer)};
}

forked_peer::forked_peer(forked_peer&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)), errors_(std::move(other.errors_)) {}

forked_peer::~forked_peer() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    wait();
  }
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

void fill(std::uint64_t seq, std::span<std::byte> out) {
  std::uint64_t x = seq * 0x9e3779b97f4a7c15ull + out.size() + 1;
  for (std::size_t i = 0; i < out.size(); i += 8) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    std::memcpy(out.data() + i, &x, std::min<std::size_t>(8, out.size() - i));
  }
}

bool is_message(std::uint64_t seq, std::size_t size, std::span<const std::byte> got) {
  if (got.size() != size) return false;
  std::vector<std::byte> want(size);
  fill(seq, want);
  return size == 0 || std::memcmp(got.data(), want.data(), size) == 0;
}

void echo(baselines::Channel& channel, std::size_t count, std::size_t scratch_bytes) {
  std::vector<std::byte> scratch(scratch_bytes);
  for (std::size_t i = 0; i < count; ++i) channel.send(channel.receive(scratch));
}

}  // namespace baselines_test
