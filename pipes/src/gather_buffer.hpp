// Frames waiting for one writev(). Headers and small payloads are copied into a scratch area,
// where neighbours share one iovec; larger payloads are referenced where they lie. Copying a
// 64-byte payload is cheaper than the kernel importing and walking another iovec for it.
#pragma once

#include <sys/uio.h>

#include <climits>
#include <cstddef>
#include <cstring>
#include <memory>
#include <span>

namespace pipes::detail {

class gather_buffer {
 public:
  static constexpr std::size_t scratch_size = 64 * 1024;
  static constexpr int max_iovecs = IOV_MAX;
  // Payloads up to this size are copied rather than referenced.
  static constexpr std::size_t copy_limit = 256;

  gather_buffer()
      : scratch_(std::make_unique<std::byte[]>(scratch_size)),
        iov_(std::make_unique<iovec[]>(max_iovecs)) {}

  // True when `copy_bytes` more scratch bytes and one more iovec surely fit.
  bool has_room(std::size_t copy_bytes) const noexcept {
    return count_ < max_iovecs && scratch_size - used_ >= copy_bytes;
  }

  // Appends a copy of `bytes`. Requires has_room(bytes.size()).
  void copy(std::span<const std::byte> bytes) noexcept {
    if (bytes.empty()) return;
    std::byte* at = scratch_.get() + used_;
    std::memcpy(at, bytes.data(), bytes.size());
    used_ += bytes.size();
    iovec* last = count_ > 0 ? &iov_[count_ - 1] : nullptr;
    if (last != nullptr && static_cast<std::byte*>(last->iov_base) + last->iov_len == at) {
      last->iov_len += bytes.size();
    } else {
      iov_[count_++] = {at, bytes.size()};
    }
  }

  // Appends a reference to `bytes`, which must outlive the next clear(). Requires has_room(0).
  void reference(std::span<const std::byte> bytes) noexcept {
    if (bytes.empty()) return;
    iov_[count_++] = {const_cast<std::byte*>(bytes.data()), bytes.size()};
  }

  iovec* iov() noexcept { return iov_.get(); }
  int count() const noexcept { return count_; }
  bool empty() const noexcept { return count_ == 0; }
  void clear() noexcept {
    count_ = 0;
    used_ = 0;
  }

  // The scratch area as a plain buffer, for callers that bounce data through it. Only while
  // empty().
  std::span<std::byte> scratch() noexcept { return {scratch_.get(), scratch_size}; }

 private:
  std::unique_ptr<std::byte[]> scratch_;
  std::unique_ptr<iovec[]> iov_;
  std::size_t used_ = 0;
  int count_ = 0;
};

}  // namespace pipes::detail
