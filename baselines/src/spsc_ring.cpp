#include "spsc_ring.hpp"

#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <new>
#include <string>
#include <system_error>
#include <utility>

namespace baselines {
namespace {

// A header with this length means "the rest of the ring is padding; continue at its start".
inline constexpr std::uint64_t wrap_marker = ~std::uint64_t{0};
// Anything longer is a corrupt header, not a message.
inline constexpr std::uint64_t max_length = std::uint64_t{1} << 48;

std::size_t align_up(std::size_t n, std::size_t to) noexcept { return (n + to - 1) / to * to; }

// Refuses a message that does not fit the receiver's buffer, before any of it is taken.
void require_room(std::uint64_t length, std::span<std::byte> scratch) {
  if (length > scratch.size()) {
    throw std::runtime_error("message of " + std::to_string(length) +
                             " bytes is larger than the receive buffer");
  }
}

}  // namespace

bool futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t expected,
                std::chrono::nanoseconds timeout) noexcept {
  const timespec t{static_cast<time_t>(timeout.count() / 1'000'000'000),
                   static_cast<long>(timeout.count() % 1'000'000'000)};
  const long r = ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAIT, expected,
                           &t, nullptr, 0);
  return r == 0 || errno != ETIMEDOUT;
}

void futex_wake(std::atomic<std::uint32_t>& word) noexcept {
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAKE, 1, nullptr, nullptr, 0);
}

void wake_if_sleeping(std::atomic<std::uint32_t>& sleeping, wake_word word) noexcept {
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (sleeping.load(std::memory_order_relaxed) != 0) {
    sleeping.store(0, std::memory_order_relaxed);
    if (word.shared == nullptr) {
      futex_wake(sleeping);
    } else {
      word.shared->fetch_add(1, std::memory_order_release);
      futex_wake(*word.shared);
    }
  }
}

std::size_t ring_record_size(std::uint64_t length) noexcept {
  return ring_header_size + align_up(length, ring_header_size);
}

std::size_t ring_writer::room_needed(std::uint64_t length) const noexcept {
  const std::size_t record = ring_record_size(length);
  if (record > ring_.max_contiguous_record()) return ring_header_size;
  const std::size_t to_end = ring_.capacity - ring_.offset(head_);
  return (to_end < record ? to_end : 0) + record;
}

bool ring_writer::has_room_for(std::uint64_t length) noexcept {
  const std::size_t needed = room_needed(length);
  if (free_space() >= needed) return true;
  cached_tail_ = ring_.control->tail.load(std::memory_order_acquire);
  return free_space() >= needed;
}

void ring_writer::write(std::span<const std::byte> message) {
  const std::uint64_t length = message.size();
  const std::size_t record = ring_record_size(length);
  if (record <= ring_.max_contiguous_record()) {
    const std::size_t to_end = ring_.capacity - ring_.offset(head_);
    const std::size_t padding = to_end < record ? to_end : 0;
    wait_for_space(padding + record);
    if (padding != 0) {
      put_header(wrap_marker);
      head_ += padding;
    }
    put_header(length);
    if (length != 0) {
      std::memcpy(ring_.data + ring_.offset(head_ + ring_header_size), message.data(), length);
    }
    head_ += record;
    publish();
    return;
  }
  wait_for_space(ring_header_size);
  put_header(length);
  head_ += ring_header_size;
  const std::size_t padded = record - ring_header_size;
  for (std::size_t done = 0; done < padded;) {
    const std::size_t want = std::min(padded - done, ring_.stream_piece());
    if (free_space() < want) {
      publish();  // what is written so far, before this side may sleep
      wait_for_space(want);
    }
    const std::size_t n = std::min(want, free_space());
    const std::size_t real = done < length ? std::min<std::size_t>(n, length - done) : 0;
    copy_in(message.subspan(done, real));
    head_ += n;
    done += n;
    publish();
  }
}

void ring_writer::wait_for_space(std::size_t bytes) {
  if (free_space() >= bytes) return;
  await(
      [&] {
        cached_tail_ = ring_.control->tail.load(std::memory_order_acquire);
        return free_space() >= bytes;
      },
      ring_.control->producer_sleeping, ring_.producer_wake, *peer_);
}

void ring_writer::put_header(std::uint64_t value) noexcept {
  std::memcpy(ring_.data + ring_.offset(head_), &value, ring_header_size);
}

// Copies to the ring at head_, wrapping around its end.
void ring_writer::copy_in(std::span<const std::byte> bytes) noexcept {
  const std::size_t at = ring_.offset(head_);
  const std::size_t first = std::min(bytes.size(), ring_.capacity - at);
  std::memcpy(ring_.data + at, bytes.data(), first);
  std::memcpy(ring_.data, bytes.data() + first, bytes.size() - first);
}

void ring_writer::publish() noexcept {
  ring_.control->head.store(head_, std::memory_order_release);
  wake_if_sleeping(ring_.control->consumer_sleeping, ring_.consumer_wake);
}

bool ring_reader::has_message() noexcept {
  if (cached_head_ - tail_ >= ring_header_size) return true;
  cached_head_ = ring_.control->head.load(std::memory_order_acquire);
  return cached_head_ - tail_ >= ring_header_size;
}

std::span<const std::byte> ring_reader::read(std::span<std::byte> scratch) {
  if (held_) {  // the message returned last time is no longer looked at
    held_ = false;
    release();
  }
  wait_for_data(ring_header_size);
  std::uint64_t length = get_header();
  if (length == wrap_marker) {
    tail_ += ring_.capacity - ring_.offset(tail_);
    wait_for_data(ring_header_size);
    length = get_header();
  }
  if (length > max_length) {
    throw std::runtime_error("shm_ring: corrupt record header " + std::to_string(length));
  }
  const std::size_t record = ring_record_size(length);
  if (record <= ring_.max_contiguous_record()) {
    wait_for_data(record);
    const std::byte* payload = ring_.data + ring_.offset(tail_ + ring_header_size);
    if (how_ == shm_receive::in_place) {
      tail_ += record;
      held_ = true;  // released on the next call, so the view stays valid until then
      return {payload, static_cast<std::size_t>(length)};
    }
    require_room(length, scratch);
    if (length != 0) std::memcpy(scratch.data(), payload, length);
    tail_ += record;
    release();
    return scratch.first(length);
  }
  require_room(length, scratch);
  tail_ += ring_header_size;
  const std::size_t padded = record - ring_header_size;
  for (std::size_t done = 0; done < padded;) {
    wait_for_data(ring_header_size);
    const std::size_t n = std::min<std::size_t>(padded - done, cached_head_ - tail_);
    const std::size_t real = done < length ? std::min<std::size_t>(n, length - done) : 0;
    copy_out(scratch.subspan(done, real));
    tail_ += n;
    done += n;
    release();
  }
  return scratch.first(length);
}

void ring_reader::wait_for_data(std::size_t bytes) {
  if (cached_head_ - tail_ >= bytes) return;
  await(
      [&] {
        cached_head_ = ring_.control->head.load(std::memory_order_acquire);
        return cached_head_ - tail_ >= bytes;
      },
      ring_.control->consumer_sleeping, ring_.consumer_wake, *peer_);
}

std::uint64_t ring_reader::get_header() const noexcept {
  std::uint64_t value;
  std::memcpy(&value, ring_.data + ring_.offset(tail_), ring_header_size);
  return value;
}

void ring_reader::copy_out(std::span<std::byte> out) const noexcept {
  const std::size_t at = ring_.offset(tail_);
  const std::size_t first = std::min(out.size(), ring_.capacity - at);
  std::memcpy(out.data(), ring_.data + at, first);
  std::memcpy(out.data() + first, ring_.data, out.size() - first);
}

// Gives the bytes up to tail_ back to the producer.
void ring_reader::release() noexcept {
  ring_.control->tail.store(tail_, std::memory_order_release);
  wake_if_sleeping(ring_.control->producer_sleeping, ring_.producer_wake);
}

struct alignas(cache_line) hub_control {
  std::atomic<std::uint32_t> word{0};
};

ring_set::ring_set(std::size_t count, std::size_t ring_bytes)
    : count_(count),
      ring_bytes_(ring_bytes),
      control_bytes_(align_up(sizeof(hub_control) + count * sizeof(ring_control), page)),
      size_(control_bytes_ + count * ring_bytes) {
  void* p = ::mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::system_error(errno, std::system_category(), "mmap");
  base_ = static_cast<std::byte*>(p);
  new (base_) hub_control;
  for (std::size_t i = 0; i < count; ++i) {
    new (base_ + sizeof(hub_control) + i * sizeof(ring_control)) ring_control;
  }
}

ring_set::ring_set(ring_set&& other) noexcept
    : count_(other.count_),
      ring_bytes_(other.ring_bytes_),
      control_bytes_(other.control_bytes_),
      size_(other.size_),
      base_(std::exchange(other.base_, {})) {}

ring_set::~ring_set() {
  if (base_ != nullptr) ::munmap(base_, size_);
}

void ring_set::prefault() noexcept {
  if (::madvise(base_, size_, MADV_POPULATE_WRITE) == 0) return;
  for (std::size_t at = 0; at < size_; at += page) {
    static_cast<void>(static_cast<volatile const std::byte*>(base_)[at]);
  }
}

ring_view ring_set::ring(std::size_t index) const noexcept {
  return {reinterpret_cast<ring_control*>(base_ + sizeof(hub_control)) + index,
          base_ + control_bytes_ + index * ring_bytes_, ring_bytes_};
}

std::atomic<std::uint32_t>& ring_set::hub_word() const noexcept {
  return reinterpret_cast<hub_control*>(base_)->word;
}

}  // namespace baselines
