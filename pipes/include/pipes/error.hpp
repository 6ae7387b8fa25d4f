// pipes' own error conditions, in an error category of their own, and the exceptions the throwing
// calls raise. Everything the operating system reports stays in std::system_category() with its
// errno, thrown as std::system_error.
#pragma once

#include <cstddef>
#include <string>
#include <system_error>
#include <type_traits>

namespace pipes {

enum class errc {
  // End of file between messages (Python's EOFError), or EPIPE on send: the peer is gone.
  peer_closed = 1,
  // End of file inside a header or a payload: the peer died or closed mid-message.
  peer_closed_mid_message,
  // A header (or a send) exceeds options::max_message_size. The receive side is then unusable.
  message_too_large,
  // A negative length other than -1: not a Python frame. The receive side is then unusable.
  malformed_header,
  // recv_bytes_into: the message does not fit the buffer. It stays readable.
  buffer_too_short,
  // send_from_fd: the source ended before the promised length. The send side is then unusable.
  source_ended,
};

}  // namespace pipes

// Lets pipes::errc values convert to std::error_code and compare with one (ec == errc::...).
template <>
struct std::is_error_code_enum<pipes::errc> : std::true_type {};

namespace pipes {

// The category of pipes::errc; its name is "pipes".
const std::error_category& category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), category()};
}

// Raised for every pipes::errc condition.
class error : public std::system_error {
 public:
  error(std::error_code ec, const std::string& what) : std::system_error(ec, what) {}
  error(errc e, const std::string& what) : std::system_error(make_error_code(e), what) {}
};

// Raised by recv_bytes_into when the message does not fit; the message stays readable, so a
// second call with a buffer of message_size() bytes receives it.
class buffer_too_short_error : public error {
 public:
  buffer_too_short_error(std::size_t message_size, const std::string& what)
      : error(errc::buffer_too_short, what), message_size_(message_size) {}
  std::size_t message_size() const noexcept { return message_size_; }

 private:
  std::size_t message_size_;
};

// What pipes' throwing calls raise for `ec`: pipes::error for a pipes::errc condition,
// std::system_error for anything else. For code built on the error_code twins that wants to
// throw what the library throws.
[[noreturn]] void throw_error(const std::error_code& ec, const char* what);

}  // namespace pipes
