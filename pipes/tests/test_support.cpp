#include "test_support.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <system_error>

namespace pipes_test {

std::uint64_t rng::next() {
  std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

std::size_t rng::log_size(std::size_t hi) {
  const double unit = static_cast<double>(next() >> 11) / static_cast<double>(1ull << 53);
  const auto size = static_cast<std::size_t>(std::exp(unit * std::log(static_cast<double>(hi))));
  return size < 1 ? 1 : (size > hi ? hi : size);
}

void fill_pattern(std::span<std::byte> out, std::uint64_t seed) {
  rng gen(seed ^ (out.size() * 0x2545f4914f6cdd1dull));
  std::size_t i = 0;
  for (; i + 8 <= out.size(); i += 8) {
    const std::uint64_t word = gen.next();
    std::memcpy(out.data() + i, &word, 8);
  }
  if (i < out.size()) {
    const std::uint64_t word = gen.next();
    std::memcpy(out.data() + i, &word, out.size() - i);
  }
}

std::vector<std::byte> pattern(std::size_t size, std::uint64_t seed) {
  std::vector<std::byte> out(size);
  fill_pattern(out, seed);
  return out;
}

std::span<const std::byte> bytes_of(std::string_view text) {
  return std::as_bytes(std::span(text));
}

std::string text_of(std::span<const std::byte> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

pid_t fork_child(const std::function<int()>& body, unsigned alarm_seconds) {
  const pid_t pid = ::fork();
  if (pid < 0) throw std::system_error(errno, std::system_category(), "fork");
  if (pid > 0) return pid;
  ::alarm(alarm_seconds);  // a hung child fails the test instead of hanging it
  int code = 1;
  try {
    code = body();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "child: %s\n", e.what());
  }
  std::_Exit(code);  // no atexit handlers, no gtest teardown in the child
}

int wait_child(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

int run_in_child(const std::function<int()>& body, unsigned alarm_seconds) {
  return wait_child(fork_child(body, alarm_seconds));
}

bool exited_with(int status, int code) { return WIFEXITED(status) && WEXITSTATUS(status) == code; }

pipes::fd temp_file() {
  char name[] = "/tmp/pipes_test_XXXXXX";
  const int raw = ::mkostemp(name, O_CLOEXEC);
  if (raw < 0) throw std::system_error(errno, std::system_category(), "mkostemp");
  ::unlink(name);
  return pipes::fd(raw);
}

}  // namespace pipes_test
