#include "chunking.hpp"

#include <bit>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

namespace baselines {
namespace {

static_assert(std::endian::native == std::endian::little, "the header is written natively");

class chunked_channel final : public Channel {
 public:
  explicit chunked_channel(std::unique_ptr<datagram_link> link)
      : link_(std::move(link)), max_(link_->max_datagram()), staging_(max_), bounce_(max_) {
    if (max_ <= chunk_header_size) throw std::invalid_argument("datagrams too small to chunk");
  }

  void send(std::span<const std::byte> message) override {
    const std::uint64_t size = message.size();
    std::memcpy(staging_.data(), &size, chunk_header_size);
    if (fits_inline(message.size())) {
      // One datagram: header and payload must be contiguous, so the (small) payload is staged.
      if (!message.empty()) {  // an empty span may carry a null pointer, which memcpy forbids
        std::memcpy(staging_.data() + chunk_header_size, message.data(), message.size());
      }
      link_->send(std::span(staging_).first(chunk_header_size + message.size()));
      return;
    }
    link_->send(std::span(staging_).first(chunk_header_size));
    for (std::size_t offset = 0; offset < message.size(); offset += max_) {
      link_->send(message.subspan(offset, std::min(max_, message.size() - offset)));
    }
  }

  std::span<const std::byte> receive(std::span<std::byte> scratch) override {
    const std::size_t first = link_->receive(bounce_);
    if (first < chunk_header_size) throw std::runtime_error("chunked message without a header");
    std::uint64_t size = 0;
    std::memcpy(&size, bounce_.data(), chunk_header_size);
    if (fits_inline(size)) {
      if (first != chunk_header_size + size) throw malformed(size, first);
      return std::span(bounce_).subspan(chunk_header_size, size);  // no copy for small messages
    }
    if (first != chunk_header_size) throw malformed(size, first);
    if (size > scratch.size()) {
      throw std::runtime_error("message of " + std::to_string(size) +
                               " bytes is larger than the receive buffer");
    }
    for (std::size_t offset = 0; offset < size;) {
      const std::size_t left = size - offset;
      if (left >= max_) {
        const std::size_t got = link_->receive(scratch.subspan(offset, left));
        if (got != max_) throw malformed(size, got);
        offset += got;
      } else {
        const std::size_t got = link_->receive(bounce_);
        if (got != left) throw malformed(size, got);
        std::memcpy(scratch.data() + offset, bounce_.data(), got);
        offset += got;
      }
    }
    return scratch.first(size);
  }

 private:
  bool fits_inline(std::uint64_t size) const noexcept { return size <= max_ - chunk_header_size; }

  static std::runtime_error malformed(std::uint64_t size, std::size_t datagram) {
    return std::runtime_error("malformed chunk: a datagram of " + std::to_string(datagram) +
                              " bytes in a message of " + std::to_string(size) + " bytes");
  }

  std::unique_ptr<datagram_link> link_;
  std::size_t max_;
  std::vector<std::byte> staging_;  // header + inline payload of the message being sent
  std::vector<std::byte> bounce_;   // first datagram and tail of the message being received
};

}  // namespace

std::unique_ptr<Channel> make_chunked_channel(std::unique_ptr<datagram_link> link) {
  return std::make_unique<chunked_channel>(std::move(link));
}

std::size_t datagrams_per_message(std::size_t size, std::size_t max_datagram) noexcept {
  if (size <= max_datagram - chunk_header_size) return 1;
  return 1 + (size + max_datagram - 1) / max_datagram;
}

}  // namespace baselines
