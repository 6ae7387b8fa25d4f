// A worker program started by spawn_worker: it finds its connection's descriptors on the command
// line, then answers each request (a list of numbers) with their sum until the parent hangs up.
#include <cereal/types/vector.hpp>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <pipes/connection.hpp>
#include <pipes/typed.hpp>
#include <string_view>
#include <vector>

namespace {

int parse_fd(const char* text) {
  int value = -1;
  const std::string_view s(text);
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  return ec == std::errc{} && end == s.data() + s.size() ? value : -1;
}

}  // namespace

int main(int argc, char** argv) {
  int read_fd = -1;
  int write_fd = -1;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--read-fd") == 0) read_fd = parse_fd(argv[i + 1]);
    if (std::strcmp(argv[i], "--write-fd") == 0) write_fd = parse_fd(argv[i + 1]);
  }
  if (read_fd < 0 || write_fd < 0) {
    std::fprintf(stderr, "usage: %s --read-fd N --write-fd M\n", argv[0]);
    return 2;
  }
  auto parent = pipes::Connection::adopt(read_fd, write_fd);
  try {
    for (;;) {
      const auto numbers = pipes::recv<std::vector<long>>(parent);
      long sum = 0;
      for (long n : numbers) sum += n;
      pipes::send(parent, sum);
    }
  } catch (const pipes::error& e) {
    if (e.code() == pipes::errc::peer_closed) return 0;  // the parent is done with us
    std::fprintf(stderr, "worker: %s\n", e.what());
    return 1;
  }
}
