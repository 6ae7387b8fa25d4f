// libFuzzer target over the receiving side of pipes: an arbitrary byte stream, delivered in
// arbitrary read sizes, through the frame parser and the read-ahead buffer.
//
// System calls are also interrupted (EINTR) or find nothing yet (EAGAIN) now and then.
// Input layout: byte 0 chooses the options (read-ahead on or off, the receive call to use),
// bytes 1-2 seed the sequence of read sizes, the rest is the stream. Reads are served from the
// input through pipes' system-call seam, so the real code paths run with no kernel in the way.
// Properties checked (a failure aborts, which libFuzzer reports):
//   - every receive ends in a message or one of the documented errors, never anything else;
//   - no message is larger than max_message_size, and no single allocation exceeds it by more
//     than the read-ahead buffer (libFuzzer's -malloc_limit_mb enforces this; see the ctest);
//   - a received message's bytes are exactly the bytes the stream carried for it.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <utility>
#include <vector>

#include "pipes/connection.hpp"
#include "pipes/error.hpp"
#include "pipes/frame.hpp"
#include "syscalls.hpp"

namespace {

constexpr std::size_t max_message = 1u << 20;

struct fuzz_stream {
  std::span<const std::byte> data;
  std::size_t offset = 0;
  std::uint32_t chunk_state = 1;

  // The next read size: 1 byte up to 64 KiB, weighted towards the small and awkward ones.
  std::size_t next_chunk() noexcept {
    chunk_state = chunk_state * 1103515245u + 12345u;
    const std::uint32_t r = chunk_state >> 8;
    switch (r % 4) {
      case 0:
        return 1 + r % 4;
      case 1:
        return 1 + r % 17;
      case 2:
        return 1 + r % 4096;
      default:
        return 1 + r % 65536;
    }
  }
  // About one call in 16 is interrupted (EINTR) or finds nothing yet (EAGAIN, as on a
  // non-blocking descriptor), so the retry and wait paths run too; they must lose nothing.
  int next_interruption() noexcept {
    chunk_state = chunk_state * 1103515245u + 12345u;
    switch ((chunk_state >> 8) % 32) {
      case 0:
        return EINTR;
      case 1:
        return EAGAIN;
      default:
        return 0;
    }
  }
  std::size_t serve(std::byte* to, std::size_t want) noexcept {
    const std::size_t n = std::min<std::size_t>({want, next_chunk(), data.size() - offset});
    if (n != 0) std::memcpy(to, data.data() + offset, n);
    offset += n;
    return n;
  }
};

fuzz_stream* current = nullptr;

ssize_t fuzz_read(int, void* buf, size_t count) {
  if (const int error = current->next_interruption()) {
    errno = error;
    return -1;
  }
  return static_cast<ssize_t>(current->serve(static_cast<std::byte*>(buf), count));
}

ssize_t fuzz_readv(int, const iovec* iov, int iovcnt) {
  if (const int error = current->next_interruption()) {
    errno = error;
    return -1;
  }
  // Like a short read: fill the first vector with a chunk, go on only if it was filled.
  ssize_t total = 0;
  for (int i = 0; i < iovcnt; ++i) {
    const std::size_t n = current->serve(static_cast<std::byte*>(iov[i].iov_base), iov[i].iov_len);
    total += static_cast<ssize_t>(n);
    if (n < iov[i].iov_len) break;
  }
  return total;
}

int fuzz_poll(pollfd* fds, nfds_t nfds, int) {
  for (nfds_t i = 0; i < nfds; ++i) fds[i].revents = fds[i].events & POLLIN;
  return static_cast<int>(nfds);
}

bool documented(const std::error_code& ec) {
  return ec == pipes::errc::peer_closed || ec == pipes::errc::peer_closed_mid_message ||
         ec == pipes::errc::message_too_large || ec == pipes::errc::malformed_header;
}

// What the stream says the message at `offset` is, by the codec itself: its payload bytes.
std::span<const std::byte> expected_payload(std::span<const std::byte> stream,
                                            std::size_t& offset) {
  const auto header = pipes::decode_frame_header(stream.subspan(offset));
  offset += header.header_size;
  const auto payload = stream.subspan(offset, header.payload_size);
  offset += header.payload_size;
  return payload;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  if (size < 3) return 0;
  const auto input = std::as_bytes(std::span(bytes, size));
  fuzz_stream stream{input.subspan(3), 0, 1u + (std::uint32_t{bytes[1]} << 8 | bytes[2])};
  current = &stream;

  pipes::options options;
  options.read_ahead = (bytes[0] & 1) != 0;
  options.max_message_size = max_message;
  options.pipe_capacity = 0;
  const bool into_buffer = (bytes[0] & 2) != 0;

  auto [read_end, write_end] = pipes::open_pipe();
  write_end.close();
  pipes::scoped_syscall read_guard(&pipes::syscall_table::read, &fuzz_read);
  pipes::scoped_syscall readv_guard(&pipes::syscall_table::readv, &fuzz_readv);
  pipes::scoped_syscall poll_guard(&pipes::syscall_table::poll, &fuzz_poll);
  pipes::Connection connection(std::move(read_end), pipes::fd(), options);

  std::vector<std::byte> small(bytes[0] >> 2);  // 0..63 bytes: exercises buffer_too_short
  std::size_t expected_offset = 0;
  for (;;) {
    std::error_code ec;
    std::vector<std::byte> message;
    if (into_buffer) {
      const std::size_t n = connection.recv_bytes_into(small, ec);
      if (ec == pipes::errc::buffer_too_short) {
        if (n <= small.size() || n > max_message) std::abort();  // must report the real size
        message = connection.recv_bytes(ec);                     // the message stays readable
        if (!ec && message.size() != n) std::abort();
      } else if (!ec) {
        message.assign(small.begin(), small.begin() + static_cast<std::ptrdiff_t>(n));
      }
    } else {
      message = connection.recv_bytes(ec);
    }
    if (ec) {
      if (!documented(ec)) std::abort();
      break;
    }
    if (message.size() > max_message) std::abort();
    const auto want = expected_payload(stream.data, expected_offset);
    if (want.size() != message.size() || !std::equal(want.begin(), want.end(), message.begin())) {
      std::abort();
    }
  }
  current = nullptr;
  return 0;
}
