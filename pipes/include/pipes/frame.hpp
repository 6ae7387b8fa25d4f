// The wire format of Python's multiprocessing.connection: every message is a header then the
// payload. The header is a 4-byte big-endian signed length, or, for payloads over 2^31 - 1
// bytes, the value -1 followed by an 8-byte big-endian unsigned length.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace pipes {

inline constexpr std::size_t short_header_size = 4;
inline constexpr std::size_t long_header_size = 12;
inline constexpr std::size_t max_header_size = long_header_size;
// The largest payload that fits the 4-byte header (Python's 0x7fffffff).
inline constexpr std::uint64_t short_header_max_payload = 0x7fffffff;
// Python sends header and payload in one write up to this size, in two writes above it.
inline constexpr std::size_t python_single_write_limit = 16384;

// An encoded header: `size()` bytes of `bytes` are valid.
struct frame_header {
  std::array<std::byte, max_header_size> bytes{};
  std::size_t length = 0;

  std::span<const std::byte> view() const noexcept { return {bytes.data(), length}; }
  std::size_t size() const noexcept { return length; }
};

namespace detail {
constexpr void store_be(std::byte* out, std::uint64_t value, std::size_t width) noexcept {
  for (std::size_t i = 0; i < width; ++i) {
    out[i] = static_cast<std::byte>(value >> (8 * (width - 1 - i)));
  }
}
constexpr std::uint64_t load_be(const std::byte* in, std::size_t width) noexcept {
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < width; ++i)
    value = (value << 8) | std::to_integer<std::uint64_t>(in[i]);
  return value;
}
}  // namespace detail

// Returns the header Python would write in front of a payload of `payload_size` bytes.
constexpr frame_header encode_frame_header(std::uint64_t payload_size) noexcept {
  frame_header header;
  if (payload_size <= short_header_max_payload) {
    detail::store_be(header.bytes.data(), payload_size, 4);
    header.length = short_header_size;
  } else {
    detail::store_be(header.bytes.data(), 0xffffffffu, 4);  // -1 as a 4-byte signed integer
    detail::store_be(header.bytes.data() + 4, payload_size, 8);
    header.length = long_header_size;
  }
  return header;
}

// What the first bytes of a frame say.
struct decoded_header {
  enum class status {
    complete,    // payload_size and header_size are valid
    incomplete,  // more bytes are needed: at least header_size in total
    malformed,   // a negative length other than -1: not a Python frame
  };
  status state = status::incomplete;
  std::uint64_t payload_size = 0;
  std::size_t header_size = short_header_size;
};

// Decodes the header at the start of `available` (which may hold less than a whole header).
// Never trusts the length for anything but reporting it: the caller checks it against its limit.
constexpr decoded_header decode_frame_header(std::span<const std::byte> available) noexcept {
  using status = decoded_header::status;
  if (available.size() < short_header_size) return {status::incomplete, 0, short_header_size};
  const auto first = static_cast<std::int32_t>(detail::load_be(available.data(), 4));
  if (first >= 0) return {status::complete, static_cast<std::uint64_t>(first), short_header_size};
  if (first != -1) return {status::malformed, 0, short_header_size};
  if (available.size() < long_header_size) return {status::incomplete, 0, long_header_size};
  return {status::complete, detail::load_be(available.data() + 4, 8), long_header_size};
}

}  // namespace pipes
