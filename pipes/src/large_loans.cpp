#include "large_loans.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include "syscalls.hpp"

namespace pipes::detail {

large_loans::~large_loans() {
  for (mapping& m : mappings_) unmap(m);
}

void large_loans::unmap(mapping& m) noexcept {
  if (m.data != nullptr) syscalls().munmap(m.data, m.size);
  m = {};
}

std::span<std::byte> large_loans::take(std::size_t size, std::uint64_t stream_bytes,
                                       std::size_t pipe_capacity) noexcept {
  taken_ = -1;
  // A free mapping big enough; else a free one to replace (the smaller, to keep the larger).
  int pick = -1;
  for (int i = 0; i < 2; ++i) {
    const mapping& m = mappings_[i];
    if (!free_at(m, stream_bytes, pipe_capacity)) continue;
    if (m.size >= size) {
      pick = i;
      break;
    }
    if (pick < 0 || m.size < mappings_[pick].size) pick = i;
  }
  if (pick < 0) return {};
  mapping& m = mappings_[pick];
  if (m.size < size) {
    unmap(m);
    const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    const std::size_t length = (size + page - 1) / page * page;
    // Populated now: a first pass over tens of MiB would otherwise fault page by page.
    void* memory = syscalls().mmap(nullptr, length, PROT_READ | PROT_WRITE,
                                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (memory == MAP_FAILED) return {};
    m.data = static_cast<std::byte*>(memory);
    m.size = length;
  }
  taken_ = pick;
  return {m.data, size};
}

void large_loans::published(std::uint64_t stream_end) noexcept {
  if (taken_ < 0) return;
  mappings_[taken_].stream_end = stream_end;
  mappings_[taken_].spliced = true;
  taken_ = -1;
}

void large_loans::returned() noexcept { taken_ = -1; }

void large_loans::trim(std::size_t keep) noexcept {
  for (int i = 0; i < 2; ++i) {
    if (i != taken_ && mappings_[i].size > keep) unmap(mappings_[i]);
  }
}

}  // namespace pipes::detail
