// The worker examples find their connection's descriptors on the command line, as the program
// that spawned them passed them (--read-fd N --write-fd M), and serve requests until the other
// side hangs up.
#pragma once

#include <charconv>
#include <cstdio>
#include <cstring>
#include <exception>
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

// A worker's main: adopts the connection named on the command line and calls `serve_one(conn)`
// (one request, one answer) until the other side closes its end, which is the normal way out
// (exit status 0, errc::peer_closed: Python's EOFError). Anything else is reported on stderr under
// `name` (status 1); bad arguments are status 2.
template <typename ServeOne>
int serve_until_closed(int argc, char** argv, const char* name, ServeOne serve_one) {
  auto arguments = connection_from_arguments(argc, argv);
  if (!arguments) return 2;
  try {
    for (;;) serve_one(*arguments);
  } catch (const pipes::error& e) {
    if (e.code() == pipes::errc::peer_closed) return 0;
    std::fprintf(stderr, "%s: %s\n", name, e.what());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", name, e.what());
  }
  return 1;
}

}  // namespace examples
