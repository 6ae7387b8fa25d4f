// A C++ worker for a Python program (python_driver.py): the Python side keeps using
// multiprocessing.connection (send_bytes/recv_bytes on the pipes it made), and this program, which
// it starts with the two descriptors on its command line, does the heavy work with pipes.
//
// Each request is one message: an operation byte followed by the data.
//   'c' + data  ->  the CRC-32 of data (zlib's, as Python's zlib.crc32), 4 bytes big-endian
//   'r' + data  ->  data reversed (built in place in a loaned buffer: no copy on sending)
//   'x' + data  ->  data with every byte XORed with 0x5a
// It answers until the Python side closes its end (errc::peer_closed), then exits 0.
//
//   python_worker --read-fd N --write-fd M
#include <algorithm>
#include <array>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <pipes/connection.hpp>
#include <span>
#include <stdexcept>
#include <string_view>
#include <vector>

#include "worker_arguments.hpp"

namespace {

// The CRC-32 of zlib (reflected polynomial 0xedb88320), table-driven.
std::uint32_t crc32(std::span<const std::byte> data) {
  static const auto table = [] {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1u) ? 0xedb88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  std::uint32_t c = 0xffffffffu;
  for (const std::byte b : data)
    c = table[(c ^ std::to_integer<std::uint32_t>(b)) & 0xffu] ^ (c >> 8);
  return c ^ 0xffffffffu;
}

}  // namespace

int main(int argc, char** argv) {
  return examples::serve_until_closed(argc, argv, "python_worker", [](pipes::Connection& python) {
    const std::vector<std::byte> request = python.recv_bytes();
    if (request.empty()) throw std::runtime_error("empty request (no operation byte)");
    const auto data = std::span(request).subspan(1);
    switch (static_cast<char>(request[0])) {
      case 'c': {
        const std::uint32_t crc = crc32(data);
        const std::array<std::byte, 4> reply = {std::byte(crc >> 24), std::byte(crc >> 16),
                                                std::byte(crc >> 8), std::byte(crc)};
        python.send_bytes(reply);
        break;
      }
      case 'r': {
        auto reply = python.loan(data.size());
        std::reverse_copy(data.begin(), data.end(), reply.begin());
        python.commit();
        break;
      }
      case 'x': {
        auto reply = python.loan(data.size());
        for (std::size_t i = 0; i < data.size(); ++i) reply[i] = data[i] ^ std::byte{0x5a};
        python.commit();
        break;
      }
      default:
        throw std::runtime_error("unknown operation");
    }
  });
}
