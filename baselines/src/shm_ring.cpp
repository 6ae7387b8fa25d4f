// shm_ring and shm_ring_inplace: a single-producer single-consumer byte ring per direction, in an
// anonymous MAP_SHARED mapping made by the controller before fork() (no name to leak). The design
// (record framing, copy-out or in-place receive, wake-ups, peer death) is explained in
// baselines/README.md.
#include "shm_ring.hpp"

#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>

#include "baselines/transports.hpp"
#include "peer_lifeline.hpp"
#include "size_text.hpp"
#include "spin_wait.hpp"

namespace baselines {
namespace {

// Our own constant, not std::hardware_destructive_interference_size: the layout is shared
// between processes and must not depend on compiler flags.
inline constexpr std::size_t cache_line = 64;
inline constexpr std::size_t page = 4096;
// Every record starts with this many bytes holding the payload length, and records stay
// aligned to it, so a header never straddles the end of the ring.
inline constexpr std::size_t header_size = sizeof(std::uint64_t);
// A header with this length means "the rest of the ring is padding; continue at its start".
inline constexpr std::uint64_t wrap_marker = ~std::uint64_t{0};
// Anything longer is a corrupt header, not a message.
inline constexpr std::uint64_t max_length = std::uint64_t{1} << 48;
// How long a sleeper waits for a wake-up before it checks that the peer still exists.
inline constexpr auto liveness_check = std::chrono::milliseconds(100);

// The shared state of one direction. Each index has one writer and its own cache line, and so
// does each futex word, so the fast path of one side never writes a line the other reads in its
// own fast path.
struct ring_control {
  alignas(cache_line) std::atomic<std::uint64_t> head{0};  // bytes published; producer writes
  alignas(cache_line) std::atomic<std::uint64_t> tail{0};  // bytes released; consumer writes
  alignas(cache_line) std::atomic<std::uint32_t> consumer_sleeping{0};  // futex words: 1 while
  alignas(cache_line) std::atomic<std::uint32_t> producer_sleeping{0};  // that side may sleep
};
// Lock-free atomics are address-free, so they work across processes; a futex needs 32 bits.
static_assert(std::atomic<std::uint64_t>::is_always_lock_free);
static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t));

std::size_t align_up(std::size_t n, std::size_t to) noexcept { return (n + to - 1) / to * to; }

void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// FUTEX_WAIT without FUTEX_PRIVATE_FLAG: the word lives in memory shared by two processes.
// Returns false on timeout; a wake-up, a changed word or a signal all return true.
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

// Waits until `ready()` holds: spins for spin_time, then sleeps on `sleeping`, which the other
// side clears (and wakes) only when it finds it set, so a side that never sleeps never costs
// the other a system call.
template <typename Ready>
void await(Ready ready, std::atomic<std::uint32_t>& sleeping, const lifeline& peer) {
  const auto spin_until = std::chrono::steady_clock::now() + spin_time;
  for (unsigned i = 1;; ++i) {
    if (ready()) return;
    cpu_relax();
    if (i % 64 == 0 && std::chrono::steady_clock::now() > spin_until) break;
  }
  for (;;) {
    sleeping.store(1, std::memory_order_relaxed);
    // Pairs with the fence in wake_if_sleeping: either the other side sees the flag, or this
    // side sees the other's index (a store then a load on each side needs seq_cst).
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (ready()) break;
    const bool woken = futex_wait(sleeping, 1, liveness_check);
    if (ready()) break;
    if (!woken && peer.peer_gone()) {
      if (ready()) break;  // what the peer wrote before it went is still delivered
      throw std::runtime_error("peer closed");
    }
  }
  sleeping.store(0, std::memory_order_relaxed);
}

// Called after publishing an index: wakes the other side only if it said it may sleep.
void wake_if_sleeping(std::atomic<std::uint32_t>& sleeping) noexcept {
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (sleeping.load(std::memory_order_relaxed) != 0) {
    sleeping.store(0, std::memory_order_relaxed);
    futex_wake(sleeping);
  }
}

// One direction's ring as seen from one process.
struct ring_view {
  ring_control* control;
  std::byte* data;
  std::size_t capacity;  // a power of two

  std::size_t offset(std::uint64_t position) const noexcept { return position & (capacity - 1); }
  // Records up to this size are stored contiguously (and received in place); larger messages
  // are streamed. Half the ring guarantees a contiguous record always fits once the ring drains.
  std::size_t max_contiguous_record() const noexcept { return capacity / 2; }
  // Streamed messages move in pieces of at most this many bytes, so the reader starts early.
  std::size_t stream_piece() const noexcept { return capacity / 8; }
};

std::size_t record_size(std::uint64_t length) noexcept {
  return header_size + align_up(length, header_size);
}

class ring_writer {
 public:
  ring_writer(ring_view ring, const lifeline& peer) noexcept : ring_(ring), peer_(&peer) {}

  void write(std::span<const std::byte> message) {
    const std::uint64_t length = message.size();
    const std::size_t record = record_size(length);
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
        std::memcpy(ring_.data + ring_.offset(head_ + header_size), message.data(), length);
      }
      head_ += record;
      publish();
      return;
    }
    wait_for_space(header_size);
    put_header(length);
    head_ += header_size;
    const std::size_t padded = record - header_size;
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

 private:
  std::size_t free_space() const noexcept { return ring_.capacity - (head_ - cached_tail_); }

  void wait_for_space(std::size_t bytes) {
    if (free_space() >= bytes) return;
    await(
        [&] {
          cached_tail_ = ring_.control->tail.load(std::memory_order_acquire);
          return free_space() >= bytes;
        },
        ring_.control->producer_sleeping, *peer_);
  }

  void put_header(std::uint64_t value) noexcept {
    std::memcpy(ring_.data + ring_.offset(head_), &value, header_size);
  }

  // Copies to the ring at head_, wrapping around its end.
  void copy_in(std::span<const std::byte> bytes) noexcept {
    const std::size_t at = ring_.offset(head_);
    const std::size_t first = std::min(bytes.size(), ring_.capacity - at);
    std::memcpy(ring_.data + at, bytes.data(), first);
    std::memcpy(ring_.data, bytes.data() + first, bytes.size() - first);
  }

  void publish() noexcept {
    ring_.control->head.store(head_, std::memory_order_release);
    wake_if_sleeping(ring_.control->consumer_sleeping);
  }

  ring_view ring_;
  const lifeline* peer_;
  std::uint64_t head_ = 0;         // this side's copy of control->head
  std::uint64_t cached_tail_ = 0;  // the consumer's index, as last read
};

// Refuses a message that does not fit the receiver's buffer, before any of it is taken.
void require_room(std::uint64_t length, std::span<std::byte> scratch) {
  if (length > scratch.size()) {
    throw std::runtime_error("message of " + std::to_string(length) +
                             " bytes is larger than the receive buffer");
  }
}

class ring_reader {
 public:
  ring_reader(ring_view ring, const lifeline& peer, shm_receive how) noexcept
      : ring_(ring), peer_(&peer), how_(how) {}

  std::span<const std::byte> read(std::span<std::byte> scratch) {
    if (held_) {  // the message returned last time is no longer looked at
      held_ = false;
      release();
    }
    wait_for_data(header_size);
    std::uint64_t length = get_header();
    if (length == wrap_marker) {
      tail_ += ring_.capacity - ring_.offset(tail_);
      wait_for_data(header_size);
      length = get_header();
    }
    if (length > max_length) {
      throw std::runtime_error("shm_ring: corrupt record header " + std::to_string(length));
    }
    const std::size_t record = record_size(length);
    if (record <= ring_.max_contiguous_record()) {
      wait_for_data(record);
      const std::byte* payload = ring_.data + ring_.offset(tail_ + header_size);
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
    tail_ += header_size;
    const std::size_t padded = record - header_size;
    for (std::size_t done = 0; done < padded;) {
      wait_for_data(header_size);
      const std::size_t n = std::min<std::size_t>(padded - done, cached_head_ - tail_);
      const std::size_t real = done < length ? std::min<std::size_t>(n, length - done) : 0;
      copy_out(scratch.subspan(done, real));
      tail_ += n;
      done += n;
      release();
    }
    return scratch.first(length);
  }

 private:
  void wait_for_data(std::size_t bytes) {
    if (cached_head_ - tail_ >= bytes) return;
    await(
        [&] {
          cached_head_ = ring_.control->head.load(std::memory_order_acquire);
          return cached_head_ - tail_ >= bytes;
        },
        ring_.control->consumer_sleeping, *peer_);
  }

  std::uint64_t get_header() const noexcept {
    std::uint64_t value;
    std::memcpy(&value, ring_.data + ring_.offset(tail_), header_size);
    return value;
  }

  void copy_out(std::span<std::byte> out) const noexcept {
    const std::size_t at = ring_.offset(tail_);
    const std::size_t first = std::min(out.size(), ring_.capacity - at);
    std::memcpy(out.data(), ring_.data + at, first);
    std::memcpy(out.data() + first, ring_.data, out.size() - first);
  }

  // Gives the bytes up to tail_ back to the producer.
  void release() noexcept {
    ring_.control->tail.store(tail_, std::memory_order_release);
    wake_if_sleeping(ring_.control->producer_sleeping);
  }

  ring_view ring_;
  const lifeline* peer_;
  shm_receive how_;
  std::uint64_t tail_ = 0;         // read position; control->tail lags it while a view is held
  std::uint64_t cached_head_ = 0;  // the producer's index, as last read
  bool held_ = false;              // bytes up to tail_ are read but not yet released
};

// The mapping holding both directions: two control blocks, then two rings on page boundaries.
class shared_rings {
 public:
  explicit shared_rings(std::size_t ring_bytes)
      : ring_bytes_(ring_bytes), size_(page + 2 * ring_bytes) {
    void* p = ::mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::system_error(errno, std::system_category(), "mmap");
    base_ = static_cast<std::byte*>(p);
    new (base_) ring_control;
    new (base_ + sizeof(ring_control)) ring_control;
  }
  shared_rings(shared_rings&& other) noexcept
      : ring_bytes_(other.ring_bytes_), size_(other.size_), base_(std::exchange(other.base_, {})) {}
  shared_rings& operator=(shared_rings&&) = delete;
  ~shared_rings() {
    if (base_ != nullptr) ::munmap(base_, size_);
  }

  // Maps every page into this process now, so that no page fault lands in a timed phase. The
  // contents are left alone: the other side may already be writing.
  void prefault() noexcept {
    if (::madvise(base_, size_, MADV_POPULATE_WRITE) == 0) return;
    for (std::size_t at = 0; at < size_; at += page) {
      static_cast<void>(static_cast<volatile const std::byte*>(base_)[at]);
    }
  }

  // Direction 0 carries leader -> follower, direction 1 follower -> leader.
  ring_view ring(int direction) const noexcept {
    return {reinterpret_cast<ring_control*>(base_) + direction,
            base_ + page + direction * ring_bytes_, ring_bytes_};
  }

 private:
  std::size_t ring_bytes_;
  std::size_t size_;
  std::byte* base_ = nullptr;
};
static_assert(2 * sizeof(ring_control) <= page);

class shm_ring_channel final : public Channel {
 public:
  shm_ring_channel(shared_rings rings, Role role, lifeline peer, shm_receive how)
      : rings_(std::move(rings)),
        peer_(std::move(peer)),
        writer_(rings_.ring(role == Role::leader ? 0 : 1), peer_),
        reader_(rings_.ring(role == Role::leader ? 1 : 0), peer_, how) {
    rings_.prefault();
  }

  void send(std::span<const std::byte> message) override { writer_.write(message); }

  std::span<const std::byte> receive(std::span<std::byte> scratch) override {
    return reader_.read(scratch);
  }

 private:
  shared_rings rings_;
  lifeline peer_;
  ring_writer writer_;
  ring_reader reader_;
};

class shm_ring final : public Transport {
 public:
  shm_ring(std::size_t ring_bytes, shm_receive how)
      : ring_bytes_(ring_bytes), how_(how), rings_(ring_bytes) {}

  std::unique_ptr<Channel> open(Role role) override {
    return std::make_unique<shm_ring_channel>(std::move(rings_), role, lifelines_.take(role), how_);
  }

  std::string describe() const override {
    return "SPSC byte ring per direction, " + size_text(ring_bytes_) +
           " each, anonymous MAP_SHARED mapping made before fork (no name); 8-B length prefix, "
           "8-B aligned records; messages up to " +
           std::to_string(ring_bytes_ / 2 - header_size) +
           " B stored contiguously (wrap marker) and " +
           (how_ == shm_receive::in_place
                ? "received in place (a view into the ring, released on the next receive)"
                : "copied out into the receiver's buffer") +
           ", larger ones streamed in pieces of up to " + size_text(ring_bytes_ / 8) +
           " and copied out; wait: spin " + std::to_string(spin_time.count()) +
           " us, then FUTEX_WAIT (shared) on a sleeping flag, FUTEX_WAKE only if it is set; "
           "peer checked every " +
           std::to_string(liveness_check.count()) + " ms of sleep (lifeline pipe)";
  }

 private:
  std::size_t ring_bytes_;
  shm_receive how_;
  shared_rings rings_;
  lifeline_pair lifelines_;
};

}  // namespace

std::unique_ptr<Transport> make_shm_ring(const TransportParams&, std::size_t ring_bytes,
                                         shm_receive how) {
  if (ring_bytes < page || !std::has_single_bit(ring_bytes)) {
    throw std::invalid_argument("shm_ring: the ring size must be a power of two of at least 4 KiB");
  }
  return std::make_unique<shm_ring>(ring_bytes, how);
}

std::unique_ptr<Transport> make_shm_ring(const TransportParams& params) {
  return make_shm_ring(params, shm_ring_default_bytes, shm_receive::copy_out);
}

std::unique_ptr<Transport> make_shm_ring_inplace(const TransportParams& params) {
  // Room for two whole records of the run's size, so that every message is read in place while
  // the next one is written (as py_shared_memory's two message-sized slots do), within a cap.
  const std::size_t two_records = 2 * record_size(params.message_size);
  const std::size_t ring_bytes =
      std::clamp(std::bit_ceil(two_records), shm_ring_default_bytes, shm_ring_inplace_max_bytes);
  return make_shm_ring(params, ring_bytes, shm_receive::in_place);
}

}  // namespace baselines
