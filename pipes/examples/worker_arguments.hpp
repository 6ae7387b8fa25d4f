// The worker examples find their connection's descriptors on the command line, as the program
// that spawned them passed them: --read-fd N --write-fd M.
#pragma once

#include <charconv>
#include <cstdio>
#include <cstring>
#include <optional>
#include <pipes/connection.hpp>
#include <string_view>

namespace examples {

inline int parse_fd(const char* text) {
  int value = -1;
  const std::string_view s(text);
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  return ec == std::errc{} && end == s.data() + s.size() ? value : -1;
}

// Adopts the descriptors named on the command line; prints the usage and returns nothing when
// either is missing or malformed.
inline std::optional<pipes::Connection> connection_from_arguments(int argc, char** argv) {
  int read_fd = -1;
  int write_fd = -1;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--read-fd") == 0) read_fd = parse_fd(argv[i + 1]);
    if (std::strcmp(argv[i], "--write-fd") == 0) write_fd = parse_fd(argv[i + 1]);
  }
  if (read_fd < 0 || write_fd < 0) {
    std::fprintf(stderr, "usage: %s --read-fd N --write-fd M\n", argv[0]);
    return std::nullopt;
  }
  return pipes::Connection::adopt(read_fd, write_fd);
}

}  // namespace examples
