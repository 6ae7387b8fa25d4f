#include "payload_pool.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

#include "checksum.hpp"

namespace harness {
namespace {

std::uint64_t splitmix64(std::uint64_t& state) noexcept {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

std::size_t stamp_length(std::size_t message_size) noexcept {
  return std::min(message_size, payload_pool::stamp_size);
}

}  // namespace

payload_pool::shared_bytes::shared_bytes(std::size_t size) : size_(size) {
  if (size == 0) return;
  void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::system_error(errno, std::system_category(), "mmap payload pool");
  data_ = static_cast<std::byte*>(p);
}

payload_pool::shared_bytes::~shared_bytes() {
  if (data_) ::munmap(data_, size_);
}

void stamp(std::span<std::byte> message, std::uint64_t seq) noexcept {
  std::byte le[payload_pool::stamp_size];
  for (std::size_t i = 0; i < sizeof le; ++i) le[i] = static_cast<std::byte>(seq >> (8 * i));
  if (!message.empty()) std::memcpy(message.data(), le, stamp_length(message.size()));
}

std::size_t payload_pool::pool_bytes_for(std::size_t message_size, std::size_t llc_bytes) noexcept {
  if (message_size < large_message) {
    return std::min(small_bytes, message_size * max_small_slots);
  }
  const std::size_t wanted = std::max(small_bytes, llc_multiple * llc_bytes);
  return std::min(wanted, max_bytes);
}

std::string payload_pool::rule() {
  return "messages >= " + std::to_string(large_message >> 10) +
         " KiB rotate over >= " + std::to_string(llc_multiple) +
         "x the last-level cache (at least " + std::to_string(small_bytes >> 20) +
         " MiB, at most " + std::to_string(max_bytes >> 20) + " MiB, at least " +
         std::to_string(min_slots) + " messages); smaller ones over up to " +
         std::to_string(max_small_slots) + " messages / " + std::to_string(small_bytes >> 20) +
         " MiB";
}

payload_pool::payload_pool(std::size_t message_size, std::size_t llc_bytes, std::uint64_t seed)
    : payload_pool(shape_t{.message_size = message_size,
                           .slots = std::max(pool_bytes_for(message_size, llc_bytes) /
                                                 std::max<std::size_t>(message_size, 1),
                                             min_slots),
                           .seed = seed}) {}

payload_pool::payload_pool(const shape_t& shape)
    : message_size_(shape.message_size),
      slots_(std::max(shape.slots, min_slots)),
      seed_(shape.seed),
      bytes_(message_size_ * slots_),
      slot_checksums_(slots_) {
  std::uint64_t state = seed_;
  for (std::size_t i = 0; i < bytes_.size(); i += sizeof(std::uint64_t)) {
    const std::uint64_t word = splitmix64(state);
    std::memcpy(bytes_.data() + i, &word, std::min(sizeof word, bytes_.size() - i));
  }
  const std::size_t skip = stamp_length(message_size_);
  for (std::size_t s = 0; s < slots_; ++s) slot_checksums_[s] = checksum(slot(s).subspan(skip));
}

std::span<std::byte> payload_pool::slot(std::uint64_t seq) noexcept {
  return {bytes_.data() + (seq % slots_) * message_size_, message_size_};
}

std::span<const std::byte> payload_pool::slot(std::uint64_t seq) const noexcept {
  return {bytes_.data() + (seq % slots_) * message_size_, message_size_};
}

std::span<const std::byte> payload_pool::message(std::uint64_t seq) noexcept {
  const auto bytes = slot(seq);
  stamp(bytes, seq);
  return bytes;
}

void payload_pool::write_message(std::uint64_t seq, std::span<std::byte> out,
                                 std::size_t offset) const noexcept {
  if (out.empty()) return;
  std::memcpy(out.data(), slot(seq).data() + offset, out.size());
  // The stamp's bytes that fall in this piece.
  const std::size_t stamped = stamp_length(message_size_);
  if (offset < stamped) {
    std::byte whole[stamp_size];
    stamp(std::span(whole, stamped), seq);
    const std::size_t n = std::min(stamped - offset, out.size());
    std::memcpy(out.data(), whole + offset, n);
  }
}

void payload_pool::prefault() noexcept {
  for (std::size_t s = 0; s < slots_; ++s) message(s);  // writes each slot's stamp
  // One read per page, for pages no stamp touches: the sender only reads them. A write would copy
  // every page of the controller's pool into this process (copy on write after fork): up to a
  // second GiB per run, seconds of page faults under a sanitizer on a host with a large cache.
  for (std::size_t i = 0; i < bytes_.size(); i += 4096) {
    const volatile std::byte* page = bytes_.data() + i;
    (void)*page;
  }
}

bool payload_pool::matches(std::uint64_t seq, std::span<const std::byte> received) const noexcept {
  if (received.size() != message_size_) return false;
  const std::size_t skip = stamp_length(message_size_);
  if (skip == 0) return true;
  std::byte expected[stamp_size];
  stamp(std::span(expected, skip), seq);
  return std::memcmp(received.data(), expected, skip) == 0 &&
         checksum(received.subspan(skip)) == slot_checksums_[seq % slots_];
}

std::optional<std::uint64_t> payload_pool::stamped_sequence(
    std::span<const std::byte> received) const noexcept {
  if (received.size() != message_size_ || message_size_ < stamp_size) return std::nullopt;
  std::uint64_t seq = 0;
  for (std::size_t i = 0; i < stamp_size; ++i) {
    seq |= static_cast<std::uint64_t>(received[i]) << (8 * i);
  }
  return seq;
}

std::string payload_pool::explain_mismatch(std::uint64_t seq,
                                           std::span<const std::byte> received) const {
  const std::string which = "message " + std::to_string(seq) + ": ";
  if (received.size() != message_size_) {
    return which + "expected " + std::to_string(message_size_) + " bytes, received " +
           std::to_string(received.size());
  }
  const std::size_t skip = stamp_length(message_size_);
  std::byte expected[stamp_size];
  stamp(std::span(expected, skip), seq);
  if (skip != 0 && std::memcmp(received.data(), expected, skip) != 0) {
    std::uint64_t got = 0;
    std::memcpy(&got, received.data(), skip);
    return which + "carries the stamp of message " + std::to_string(got) +
           " (lost, duplicated or reordered)";
  }
  if (!matches(seq, received)) return which + "checksum mismatch (corrupted payload)";
  return which + "matches";
}

}  // namespace harness
