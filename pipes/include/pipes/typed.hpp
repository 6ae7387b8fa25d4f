// Typed messages: send<T>/recv<T> serialise a value with cereal's binary archives into one
// message. Needs cereal (header-only) and the cereal serialize() functions for T and its members
// (cereal/types/*.hpp for standard types). The binary archive is not portable across byte orders:
// both processes are on the same machine, which is the point of a pipe.
#pragma once

#include <cereal/archives/binary.hpp>
#include <cstddef>
#include <istream>
#include <ostream>
#include <span>
#include <streambuf>
#include <vector>

#include "pipes/connection.hpp"

namespace pipes {
namespace detail {

// Appends everything written to it to a byte vector.
class byte_sink : public std::streambuf {
 public:
  explicit byte_sink(std::vector<std::byte>& out) : out_(out) {}

 protected:
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    const auto* bytes = reinterpret_cast<const std::byte*>(s);
    out_.insert(out_.end(), bytes, bytes + n);
    return n;
  }
  int_type overflow(int_type c) override {
    if (!traits_type::eq_int_type(c, traits_type::eof())) {
      out_.push_back(static_cast<std::byte>(traits_type::to_char_type(c)));
    }
    return traits_type::not_eof(c);
  }

 private:
  std::vector<std::byte>& out_;
};

// Reads from a span of bytes without copying it.
class byte_source : public std::streambuf {
 public:
  explicit byte_source(std::span<const std::byte> in) {
    char* begin = const_cast<char*>(reinterpret_cast<const char*>(in.data()));
    setg(begin, begin, begin + in.size());
  }
};

// Per-thread buffers, reused so that steady-state typed traffic does not allocate for the bytes;
// dropped after an unusually large message.
inline constexpr std::size_t typed_buffer_keep = std::size_t{16} << 20;

inline std::vector<std::byte>& send_buffer() {
  thread_local std::vector<std::byte> buffer;
  return buffer;
}

// Only ever grows, so that it is never zero-filled twice.
inline std::vector<std::byte>& recv_buffer() {
  thread_local std::vector<std::byte> buffer;
  return buffer;
}

inline void trim(std::vector<std::byte>& buffer) {
  if (buffer.capacity() > typed_buffer_keep) std::vector<std::byte>().swap(buffer);
}

}  // namespace detail

// Serialises `value` and sends it as one message. Throws what send_bytes throws, and whatever
// cereal throws for T.
template <class T>
void send(Connection& connection, const T& value) {
  std::vector<std::byte>& bytes = detail::send_buffer();
  bytes.clear();
  {
    detail::byte_sink sink(bytes);
    std::ostream stream(&sink);
    cereal::BinaryOutputArchive archive(stream);
    archive(value);
  }
  connection.send_bytes(bytes);
  detail::trim(bytes);
}

// Receives one message and deserialises a T from it (T must be default-constructible). Throws
// what recv_bytes throws, and cereal::Exception when the message does not hold a T.
template <class T>
T recv(Connection& connection) {
  std::vector<std::byte>& bytes = detail::recv_buffer();
  std::error_code ec;
  std::size_t size = connection.recv_bytes_into(bytes, ec);
  if (ec == errc::buffer_too_short) {
    bytes.resize(size);  // the message stayed readable: fetch it into a big enough buffer
    size = connection.recv_bytes_into(bytes, ec);
  }
  if (ec) throw_error(ec, "pipes::recv");
  T value{};
  {
    detail::byte_source source(std::span<const std::byte>(bytes).first(size));
    std::istream stream(&source);
    cereal::BinaryInputArchive archive(stream);
    archive(value);
  }
  detail::trim(bytes);
  return value;
}

}  // namespace pipes
