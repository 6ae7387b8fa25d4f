#include "staging_ring.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <new>

#include "syscalls.hpp"

namespace pipes::detail {
namespace {

std::size_t round_up(std::size_t value, std::size_t multiple) noexcept {
  return (value + multiple - 1) / multiple * multiple;
}

std::size_t page_size() noexcept {
  static const std::size_t size = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  return size;
}

// Slack for the few bytes lost to alignment and to a wrap that skips a too-short tail.
constexpr std::size_t slack = 8192;

}  // namespace

std::size_t staging_ring::size_for(std::size_t pipe_capacity, std::size_t largest) noexcept {
  // Taken memory spans at most one capacity plus the biggest reservation (the oldest one still
  // possibly in the pipe may start up to that much before the last capacity's worth of bytes).
  // A wrap may waste up to one more reservation, and the next one needs room of its own.
  const std::size_t biggest = std::max(chunk_limit(pipe_capacity), largest);
  return round_up(std::max(2 * pipe_capacity, pipe_capacity + biggest + 2 * largest + slack),
                  page_size());
}

staging_ring::staging_ring(std::size_t pipe_capacity, std::size_t largest,
                           std::error_code& ec) noexcept
    : size_(size_for(pipe_capacity, largest)), pipe_capacity_(pipe_capacity) {
  ec.clear();
  // The inverse of size_for: the largest reservation for which this size still guarantees room.
  const std::size_t spare = size_ - std::min(size_, pipe_capacity + slack);
  const std::size_t chunk = chunk_limit(pipe_capacity);
  const std::size_t up_to_chunk = spare > chunk ? std::min((spare - chunk) / 2, chunk) : 0;
  const std::size_t beyond_chunk = spare / 3 > chunk ? spare / 3 : 0;
  largest_ = std::max({largest, up_to_chunk, beyond_chunk});
  try {
    extents_.resize(64);
  } catch (const std::bad_alloc&) {
    ec = std::make_error_code(std::errc::not_enough_memory);
    return;
  }
  // Populated up front: the first pass over the ring would otherwise fault page by page.
  void* memory = syscalls().mmap(nullptr, size_, PROT_READ | PROT_WRITE,
                                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  if (memory == MAP_FAILED) {
    ec.assign(errno, std::system_category());
    return;
  }
  base_ = static_cast<std::byte*>(memory);
}

staging_ring::~staging_ring() {
  if (base_ != nullptr) syscalls().munmap(base_, size_);
}

void staging_ring::retire(std::uint64_t stream_bytes) noexcept {
  while (count_ > 0) {
    const extent& oldest = extent_at(0);
    if (oldest.stream_end == in_use) break;
    if (oldest.stream_end != not_spliced && oldest.stream_end + pipe_capacity_ > stream_bytes) {
      break;
    }
    first_ = (first_ + 1) % extents_.size();
    --count_;
  }
}

bool staging_ring::push(const extent& e) noexcept {
  if (count_ == extents_.size()) {
    try {
      std::vector<extent> bigger(extents_.size() * 2);
      for (std::size_t i = 0; i < count_; ++i) bigger[i] = extent_at(i);
      extents_.swap(bigger);
      first_ = 0;
    } catch (const std::bad_alloc&) {
      return false;
    }
  }
  extents_[(first_ + count_) % extents_.size()] = e;
  ++count_;
  return true;
}

staging_ring::reservation staging_ring::reserve(std::size_t min, std::size_t max,
                                                std::uint64_t stream_bytes) noexcept {
  if (base_ == nullptr || min == 0 || min > max) return {};
  retire(stream_bytes);
  // Taken memory runs from the oldest extent's start (`tail`) up to head_, possibly wrapping.
  // A reservation never reaches `tail` exactly, so head_ == tail only ever means "empty".
  std::size_t begin = 0;
  std::size_t room = 0;
  if (count_ == 0) {
    head_ = 0;  // nothing can be in the pipe any more: start over at the front
    room = size_;
  } else {
    const std::size_t tail = extent_at(0).begin;
    if (head_ > tail) {  // taken: [tail, head_)
      if (size_ - head_ >= min) {
        begin = head_;
        room = size_ - head_;
      } else if (tail >= min + alignment) {
        room = tail - alignment;  // wrap; [head_, size_) stays unused until tail passes it
      }
    } else if (head_ < tail && tail - head_ >= min + alignment) {  // taken: [tail, end), [0, head_)
      begin = head_;
      room = tail - head_ - alignment;
    }
  }
  if (room < min) return {};
  const std::size_t length = std::min(max, room);
  const std::uint64_t ticket = next_ticket_;
  if (!push({begin, begin + length, in_use, ticket})) return {};
  ++next_ticket_;
  head_ = round_up(begin + length, alignment);
  return {{base_ + begin, length}, ticket};
}

void staging_ring::publish(std::uint64_t ticket, std::uint64_t stream_end) noexcept {
  for (std::size_t i = count_; i-- > 0;) {
    extent& e = extent_at(i);
    if (e.ticket == ticket) {
      e.stream_end = stream_end;
      return;
    }
  }
}

void staging_ring::discard(std::uint64_t ticket) noexcept {
  if (count_ > 0 && extent_at(count_ - 1).ticket == ticket) {
    head_ = extent_at(count_ - 1).begin;  // the latest: take it back
    --count_;
    return;
  }
  publish(ticket, not_spliced);
}

}  // namespace pipes::detail
