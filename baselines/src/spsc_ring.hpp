// The single-producer single-consumer byte ring of shm_ring and its worker-pool twin
// (fan_shm_ring): the layout shared between two processes, and each side's view of it. Why the
// layout and the wake-ups are as they are is explained in baselines/README.md (shm_ring).
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>

#include "peer_lifeline.hpp"
#include "shm_ring.hpp"
#include "spin_wait.hpp"

namespace baselines {

// Our own constant, not std::hardware_destructive_interference_size: the layout is shared
// between processes and must not depend on compiler flags.
inline constexpr std::size_t cache_line = 64;
inline constexpr std::size_t page = 4096;
// Every record starts with this many bytes holding the payload length, and records stay
// aligned to it, so a header never straddles the end of the ring.
inline constexpr std::size_t ring_header_size = sizeof(std::uint64_t);
// How long a sleeper waits for a wake-up before it checks that the peer still exists.
inline constexpr auto ring_liveness_check = std::chrono::milliseconds(100);

// The shared state of one ring. Each index has one writer and its own cache line, and so does
// each futex word, so the fast path of one side never writes a line the other reads in its own
// fast path.
struct ring_control {
  alignas(cache_line) std::atomic<std::uint64_t> head{0};  // bytes published; producer writes
  alignas(cache_line) std::atomic<std::uint64_t> tail{0};  // bytes released; consumer writes
  alignas(cache_line) std::atomic<std::uint32_t> consumer_sleeping{0};  // 1 while that side
  alignas(cache_line) std::atomic<std::uint32_t> producer_sleeping{0};  // may sleep
};
// Lock-free atomics are address-free, so they work across processes; a futex needs 32 bits.
static_assert(std::atomic<std::uint64_t>::is_always_lock_free);
static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t));

// Where a side that may sleep actually sleeps. Alone on a ring (shm_ring, a pool's worker) it
// sleeps on its own sleeping flag. A pool's hub serves several rings and sleeps on one shared
// counter instead: whoever clears the hub's flag on any ring bumps the counter and wakes it.
struct wake_word {
  std::atomic<std::uint32_t>* shared = nullptr;  // null: the sleeping flag itself
};

// FUTEX_WAIT / FUTEX_WAKE without FUTEX_PRIVATE_FLAG: the words live in memory shared by
// processes. futex_wait returns false on timeout; a wake-up, a changed word or a signal all
// return true.
bool futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t expected,
                std::chrono::nanoseconds timeout) noexcept;
void futex_wake(std::atomic<std::uint32_t>& word) noexcept;

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// Spins for spin_time until `ready()` holds; false if it still does not.
template <typename Ready>
bool spin_until(Ready ready) {
  const auto spin_until = std::chrono::steady_clock::now() + spin_time;
  for (unsigned i = 1;; ++i) {
    if (ready()) return true;
    cpu_relax();
    if (i % 64 == 0 && std::chrono::steady_clock::now() > spin_until) return false;
  }
}

// Sleeps until `ready()` holds, with `flags` (each a side's sleeping flag on one ring) set so
// that the other sides wake it: on the one flag itself, or on `word.shared` when set. Every
// ring_liveness_check without a wake-up it calls `on_idle()`, which throws if waiting is
// hopeless (a peer gone) or returns.
template <typename Ready, typename Flags, typename Idle>
void sleep_until(Ready ready, Flags flags, wake_word word, Idle on_idle) {
  for (;;) {
    // Read before the flags are set: a waker that clears a flag after this changes the word,
    // so the wait below cannot miss it.
    const std::uint32_t seen = word.shared ? word.shared->load(std::memory_order_acquire) : 1;
    for (std::atomic<std::uint32_t>* f : flags) f->store(1, std::memory_order_relaxed);
    // Pairs with the fence in wake_if_sleeping: either the other side sees the flag, or this
    // side sees the other's index (a store then a load on each side needs seq_cst).
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (ready()) break;
    const bool woken =
        futex_wait(word.shared ? *word.shared : **flags.begin(), seen, ring_liveness_check);
    if (ready()) break;
    if (!woken) on_idle();
  }
  for (std::atomic<std::uint32_t>* f : flags) f->store(0, std::memory_order_relaxed);
}

// Waits until `ready()` holds: spins for spin_time, then sleeps on `sleeping` (or `word`), which
// the other side clears and wakes only when it finds it set, so that a side that never sleeps
// never costs the other a system call. Throws "peer closed" once `peer` is gone and `ready()`
// still does not hold (what the peer wrote before it went is still delivered).
template <typename Ready>
void await(Ready ready, std::atomic<std::uint32_t>& sleeping, wake_word word,
           const lifeline& peer) {
  if (spin_until(ready)) return;
  std::atomic<std::uint32_t>* flags[] = {&sleeping};
  sleep_until(ready, std::span(flags), word, [&] {
    if (peer.peer_gone() && !ready()) throw std::runtime_error("peer closed");
  });
}

// Called after publishing an index: wakes the other side only if it said it may sleep.
void wake_if_sleeping(std::atomic<std::uint32_t>& sleeping, wake_word word) noexcept;

// One ring as seen from one process.
struct ring_view {
  ring_control* control;
  std::byte* data;
  std::size_t capacity;       // a power of two
  wake_word producer_wake{};  // where the producer sleeps
  wake_word consumer_wake{};  // where the consumer sleeps

  std::size_t offset(std::uint64_t position) const noexcept { return position & (capacity - 1); }
  // Records up to this size are stored contiguously (and received in place); larger messages
  // are streamed. Half the ring guarantees a contiguous record always fits once the ring drains.
  std::size_t max_contiguous_record() const noexcept { return capacity / 2; }
  // Streamed messages move in pieces of at most this many bytes, so the reader starts early.
  std::size_t stream_piece() const noexcept { return capacity / 8; }
};

// The bytes a message of `length` bytes takes in the ring, header included.
std::size_t ring_record_size(std::uint64_t length) noexcept;

class ring_writer {
 public:
  ring_writer(ring_view ring, const lifeline& peer) noexcept : ring_(ring), peer_(&peer) {}

  // Writes one message, waiting for room.
  void write(std::span<const std::byte> message);

  // True if write() of a message of `length` bytes would start without waiting: its whole
  // record fits now (or, for a streamed message, its header and a first piece do).
  bool has_room_for(std::uint64_t length) noexcept;

 private:
  std::size_t free_space() const noexcept { return ring_.capacity - (head_ - cached_tail_); }
  std::size_t room_needed(std::uint64_t length) const noexcept;
  void wait_for_space(std::size_t bytes);
  void put_header(std::uint64_t value) noexcept;
  void copy_in(std::span<const std::byte> bytes) noexcept;
  void publish() noexcept;

  ring_view ring_;
  const lifeline* peer_;
  std::uint64_t head_ = 0;         // this side's copy of control->head
  std::uint64_t cached_tail_ = 0;  // the consumer's index, as last read
};

class ring_reader {
 public:
  ring_reader(ring_view ring, const lifeline& peer, shm_receive how) noexcept
      : ring_(ring), peer_(&peer), how_(how) {}

  // Reads one message, waiting for it; see shm_receive for where the returned bytes live.
  std::span<const std::byte> read(std::span<std::byte> scratch);

  // True if a message (or the start of a streamed one) is waiting to be read.
  bool has_message() noexcept;

 private:
  void wait_for_data(std::size_t bytes);
  std::uint64_t get_header() const noexcept;
  void copy_out(std::span<std::byte> out) const noexcept;
  void release() noexcept;

  ring_view ring_;
  const lifeline* peer_;
  shm_receive how_;
  std::uint64_t tail_ = 0;         // read position; control->tail lags it while a view is held
  std::uint64_t cached_head_ = 0;  // the producer's index, as last read
  bool held_ = false;              // bytes up to tail_ are read but not yet released
};

// `count` rings of `ring_bytes` each in one anonymous MAP_SHARED mapping made before fork() (no
// name to leak): a page-aligned control area (a hub's shared wake-up counter, then each ring's
// control block), then the rings on page boundaries.
class ring_set {
 public:
  ring_set(std::size_t count, std::size_t ring_bytes);
  ring_set(ring_set&& other) noexcept;
  ring_set& operator=(ring_set&&) = delete;
  ~ring_set();

  // Maps every page into this process now, so that no page fault lands in a timed phase. The
  // contents are left alone: another side may already be writing.
  void prefault() noexcept;

  std::size_t count() const noexcept { return count_; }
  ring_view ring(std::size_t index) const noexcept;
  std::atomic<std::uint32_t>& hub_word() const noexcept;

 private:
  std::size_t count_, ring_bytes_, control_bytes_, size_;
  std::byte* base_ = nullptr;
};

}  // namespace baselines
