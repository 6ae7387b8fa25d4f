#include "baselines/python_framed_stream.hpp"

#include <sys/stat.h>

#include <cstring>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "pipes/frame.hpp"
#include "socket_io.hpp"

namespace baselines {
namespace {

bool is_socket(const pipes::fd& f) {
  struct stat st {};
  return ::fstat(f.get(), &st) == 0 && S_ISSOCK(st.st_mode);
}

class python_framed_stream final : public Channel {
 public:
  python_framed_stream(pipes::fd in, pipes::fd out) : in_(std::move(in)), out_(std::move(out)) {}

  void send(std::span<const std::byte> message) override {
    const auto header = pipes::encode_frame_header(message.size());
    if (message.size() > pipes::python_single_write_limit) {
      put(header.view());
      put(message);
      return;
    }
    // Python concatenates header and payload into one bytes object here; we reuse one buffer.
    const auto header_bytes = header.view();
    joined_.assign(header_bytes.begin(), header_bytes.end());
    joined_.insert(joined_.end(), message.begin(), message.end());
    put(joined_);
  }

  std::span<const std::byte> receive(std::span<std::byte> scratch) override {
    std::byte header[pipes::max_header_size];
    const std::size_t got = pipes::read_full(in_, std::span(header, pipes::short_header_size));
    if (got == 0) throw std::runtime_error("peer closed the connection");
    if (got != pipes::short_header_size) {
      throw std::runtime_error("peer closed the stream inside a message header");
    }
    auto decoded = pipes::decode_frame_header(std::span(header, pipes::short_header_size));
    if (decoded.state == pipes::decoded_header::status::incomplete) {
      read_exactly(std::span(header + pipes::short_header_size,
                             pipes::long_header_size - pipes::short_header_size),
                   "header");
      decoded = pipes::decode_frame_header(header);
    }
    if (decoded.state != pipes::decoded_header::status::complete) {
      throw std::runtime_error("malformed frame header");
    }
    if (decoded.payload_size > scratch.size()) {
      throw std::runtime_error("message of " + std::to_string(decoded.payload_size) +
                               " bytes is larger than the receive buffer");
    }
    const auto payload = scratch.first(decoded.payload_size);
    read_exactly(payload, "payload");
    return payload;
  }

 private:
  void read_exactly(std::span<std::byte> buffer, const char* part) {
    if (pipes::read_full(in_, buffer) != buffer.size()) {
      throw std::runtime_error(std::string("peer closed the stream inside a message ") + part);
    }
  }

  // Writes all of `bytes`: to a socket with MSG_NOSIGNAL, so that a dead peer is an error and
  // never a SIGPIPE, whatever the process does with that signal; to a pipe with write().
  void put(std::span<const std::byte> bytes) {
    if (!out_is_socket_) return pipes::write_all(out_, bytes);
    if (!send_all(out_, bytes)) throw std::runtime_error("peer closed the connection");
  }

  pipes::fd in_;
  pipes::fd out_;
  bool out_is_socket_ = is_socket(out_);
  std::vector<std::byte> joined_;
};

}  // namespace

std::unique_ptr<Channel> make_python_framed_stream(pipes::fd in, pipes::fd out) {
  return std::make_unique<python_framed_stream>(std::move(in), std::move(out));
}

}  // namespace baselines
