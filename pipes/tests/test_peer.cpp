// A separate program for the exec tests: adopts the descriptors named on its command line and
// echoes every message until the other side hangs up (exit 0), or fails (exit 1).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "pipes/connection.hpp"

int main(int argc, char** argv) {
  int read_fd = -1;
  int write_fd = -1;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--read-fd") == 0) read_fd = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--write-fd") == 0) write_fd = std::atoi(argv[i + 1]);
  }
  auto connection = pipes::Connection::adopt(read_fd, write_fd);
  std::vector<std::byte> buffer(8 << 20);
  for (;;) {
    std::error_code ec;
    const std::size_t size = connection.recv_bytes_into(buffer, ec);
    if (ec == pipes::errc::peer_closed) return 0;
    if (ec) {
      std::fprintf(stderr, "test_peer: %s\n", ec.message().c_str());
      return 1;
    }
    connection.send_bytes(std::span(buffer).first(size));
  }
}
