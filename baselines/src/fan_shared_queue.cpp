// A worker pool on one shared datagram queue. Messages are framed as the pair transports frame
// them (chunking.hpp): a first datagram with the length (and the payload inline when it fits),
// then full datagrams. With several readers (fanout) or several writers (fanin) on one queue,
// the datagrams of one message must not be split between readers nor interleaved with another
// writer's, so when the run's largest message takes more than one datagram, the many side takes
// turns: a worker holds a process-shared mutex (the turn lock) from a message's first datagram to
// its last. The one hub needs no lock. When every message of the run fits one datagram, no lock
// is taken: a datagram is a whole message, and the queue alone deals them out.
//
// A worker that dies holding the turn leaves the queue in the middle of a message; its mutex is
// robust, so the next worker that asks for the turn learns it (EOWNERDEAD) and, rather than read
// someone else's datagrams as a message, leaves the lock unrecoverable and fails, as does every
// worker after it: the run fails, it never delivers wrong data. (Boost's queue has its own,
// non-robust, mutex inside: a process killed inside a Boost call can hang the others; the
// harness's stall timeout ends that run.)
//
// Peer death: each worker has a lifeline to the hub. A blocked worker fails with "peer closed"
// once the hub is gone and the queue is empty. A blocked hub fails when waiting is hopeless:
// fanout, a worker gone before the end of the stream (its share would be lost) or, while sending
// the end markers, every worker gone; fanin, more workers gone than end markers received, once
// the queue is empty.
#include "fan_shared_queue.hpp"

#include <pthread.h>
#include <sys/mman.h>

#include <cerrno>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "chunking.hpp"
#include "peer_lifeline.hpp"

namespace baselines {
namespace {

[[noreturn]] void throw_error(int error, const char* what) {
  throw std::system_error(error, std::system_category(), what);
}

// The turn lock: a robust process-shared mutex in an anonymous MAP_SHARED page made before
// fork() (no name to leak).
class turn_lock {
 public:
  turn_lock() {
    void* p = ::mmap(nullptr, sizeof(pthread_mutex_t), PROT_READ | PROT_WRITE,
                     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw_error(errno, "mmap");
    mutex_ = static_cast<pthread_mutex_t*>(p);
    pthread_mutexattr_t attr;
    ::pthread_mutexattr_init(&attr);
    ::pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    ::pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    const int r = ::pthread_mutex_init(mutex_, &attr);
    ::pthread_mutexattr_destroy(&attr);
    if (r != 0) {
      ::munmap(mutex_, sizeof(pthread_mutex_t));
      throw_error(r, "pthread_mutex_init");
    }
  }
  turn_lock(const turn_lock&) = delete;
  turn_lock& operator=(const turn_lock&) = delete;
  // Not destroyed: other processes may still hold it; unmapping only drops this view.
  ~turn_lock() { ::munmap(mutex_, sizeof(pthread_mutex_t)); }

  void lock() {
    const int r = ::pthread_mutex_lock(mutex_);
    if (r == 0) return;
    if (r == EOWNERDEAD) {
      // Unlocked without pthread_mutex_consistent: every later lock() fails too.
      ::pthread_mutex_unlock(mutex_);
    }
    if (r == EOWNERDEAD || r == ENOTRECOVERABLE) {
      throw std::runtime_error(
          "a worker died during its turn on the shared queue: the queue is mid-message");
    }
    throw_error(r, "pthread_mutex_lock");
  }
  void unlock() noexcept { ::pthread_mutex_unlock(mutex_); }

 private:
  pthread_mutex_t* mutex_;
};

// What the hub knows about the workers, shared by its channel and its link.
struct hub_state {
  std::vector<lifeline> workers;
  bool ending = false;           // fanout: send_end() has begun
  std::size_t markers_seen = 0;  // fanin: end markers received

  std::size_t gone() const {
    std::size_t n = 0;
    for (const lifeline& w : workers) n += w.peer_gone() ? 1 : 0;
    return n;
  }
};

// The hub's side of the queue: sends only (fanout) or receives only (fanin).
class hub_link final : public datagram_link {
 public:
  hub_link(std::unique_ptr<datagram_queue> queue, std::shared_ptr<hub_state> state)
      : queue_(std::move(queue)), state_(std::move(state)) {}

  std::size_t max_datagram() const noexcept override { return queue_->max_datagram(); }

  void send(std::span<const std::byte> datagram) override {
    while (!queue_->send(datagram, queue_liveness_check)) {
      const std::size_t gone = state_->gone();
      if (gone == state_->workers.size()) throw std::runtime_error("every worker has gone");
      if (gone != 0 && !state_->ending) {
        throw std::runtime_error("a worker closed before the end of the stream");
      }
    }
  }

  std::size_t receive(std::span<std::byte> buffer) override {
    for (;;) {
      if (const auto got = queue_->receive(buffer, queue_liveness_check)) return *got;
      if (state_->gone() > state_->markers_seen) {
        // Seen gone, then looked once more: what they sent before they went was in the queue.
        if (const auto got = queue_->receive(buffer, {})) return *got;
        throw std::runtime_error("a worker closed before its end of stream");
      }
    }
  }

 private:
  std::unique_ptr<datagram_queue> queue_;
  std::shared_ptr<hub_state> state_;
};

// Refuses a message that would need the turn lock in a run that was set up without it.
void require_one_datagram(bool turns, std::size_t size, std::size_t max_datagram) {
  if (!turns && datagrams_per_message(size, max_datagram) > 1) {
    throw std::logic_error("shared-queue pool: a message of " + std::to_string(size) +
                           " bytes is larger than the run's message_size");
  }
}

class shared_queue_hub final : public HubChannel {
 public:
  shared_queue_hub(std::unique_ptr<datagram_queue> queue, std::shared_ptr<hub_state> state,
                   bool turns)
      : max_(queue->max_datagram()),
        turns_(turns),
        state_(state),
        framed_(make_chunked_channel(std::make_unique<hub_link>(std::move(queue), state))) {}

  void send(std::span<const std::byte> message) override {
    require_one_datagram(turns_, message.size(), max_);
    framed_->send(message);
  }

  // Each worker stops at the first empty message it takes, so W of them end W workers.
  void send_end() override {
    state_->ending = true;
    for (std::size_t i = 0; i < state_->workers.size(); ++i) framed_->send({});
  }

  std::span<const std::byte> receive(std::span<std::byte> scratch) override {
    const auto message = framed_->receive(scratch);
    if (message.empty()) ++state_->markers_seen;
    return message;
  }

 private:
  std::size_t max_;
  bool turns_;
  std::shared_ptr<hub_state> state_;
  std::unique_ptr<Channel> framed_;
};

class shared_queue_worker final : public Channel {
 public:
  shared_queue_worker(std::unique_ptr<datagram_link> link, std::shared_ptr<turn_lock> turns)
      : max_(link->max_datagram()),
        turns_(std::move(turns)),
        framed_(make_chunked_channel(std::move(link))) {}

  void send(std::span<const std::byte> message) override {
    require_one_datagram(turns_ != nullptr, message.size(), max_);
    const turn t(turns_.get());
    framed_->send(message);
  }

  std::span<const std::byte> receive(std::span<std::byte> scratch) override {
    const turn t(turns_.get());
    return framed_->receive(scratch);
  }

 private:
  // Holds the turn lock, if there is one, for one message.
  class turn {
   public:
    explicit turn(turn_lock* lock) : lock_(lock) {
      if (lock_) lock_->lock();
    }
    turn(const turn&) = delete;
    turn& operator=(const turn&) = delete;
    ~turn() {
      if (lock_) lock_->unlock();
    }

   private:
    turn_lock* lock_;
  };

  std::size_t max_;
  std::shared_ptr<turn_lock> turns_;  // null when every message fits one datagram
  std::unique_ptr<Channel> framed_;
};

class shared_queue_fan final : public FanTransport {
 public:
  shared_queue_fan(const FanParams& params, std::unique_ptr<datagram_queue> queue,
                   std::string queue_text)
      : params_(params),
        queue_text_(std::move(queue_text)),
        max_datagram_(queue->max_datagram()),
        datagrams_(datagrams_per_message(params.message_size, max_datagram_)),
        queue_(std::move(queue)),
        lifelines_(params.workers) {
    if (params.workers == 0) throw std::invalid_argument("a worker pool needs a worker");
    if (datagrams_ > 1) turns_ = std::make_shared<turn_lock>();
  }

  std::unique_ptr<HubChannel> open_hub() override {
    auto state = std::make_shared<hub_state>();
    for (lifeline_pair& pair : lifelines_) state->workers.push_back(pair.take(Role::leader));
    return std::make_unique<shared_queue_hub>(std::move(queue_), std::move(state), datagrams_ > 1);
  }

  std::unique_ptr<Channel> open_worker(std::size_t index) override {
    lifeline hub = lifelines_.at(index).take(Role::follower);
    auto link = params_.fanin ? make_queue_pair_link(std::move(queue_), nullptr, std::move(hub))
                              : make_queue_pair_link(nullptr, std::move(queue_), std::move(hub));
    return std::make_unique<shared_queue_worker>(std::move(link), turns_);
  }

  std::string describe() const override {
    const std::size_t max = max_datagram_;
    return queue_text_ + "; one queue shared by the hub and " + std::to_string(params_.workers) +
           (params_.fanin ? " writers" : " readers") + "; framed as the pair: 8-B length + up to " +
           std::to_string(max - chunk_header_size) + " B inline, else a header datagram and " +
           std::to_string(max) + "-B chunks; " +
           (turns_ ? "the run's largest message takes " + std::to_string(datagrams_) +
                         " datagrams, so the " + (params_.fanin ? "writers" : "readers") +
                         " take turns: a robust process-shared mutex held across one message's "
                         "datagrams (a worker that dies in its turn fails the run)"
                   : std::string("every message fits one datagram: no lock, the queue deals "
                                 "them out")) +
           "; end of stream: one empty message per worker; waits checked every " +
           std::to_string(queue_liveness_check.count()) + " ms against per-worker lifelines";
  }

 private:
  FanParams params_;
  std::string queue_text_;
  std::size_t max_datagram_;
  std::size_t datagrams_;
  std::unique_ptr<datagram_queue> queue_;
  std::vector<lifeline_pair> lifelines_;
  std::shared_ptr<turn_lock> turns_;
};

}  // namespace

std::unique_ptr<FanTransport> make_shared_queue_fan(const FanParams& params,
                                                    std::unique_ptr<datagram_queue> queue,
                                                    std::string queue_text) {
  return std::make_unique<shared_queue_fan>(params, std::move(queue), std::move(queue_text));
}

}  // namespace baselines
