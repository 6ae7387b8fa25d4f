// shm_ring's worker pool: one single-producer single-consumer ring per worker (spsc_ring.hpp),
// all in one anonymous MAP_SHARED mapping made before fork(). The hub goes round the rings:
// fanout puts each message in the next ring with room, fanin takes one message from each ring
// that has one in turn, so that no worker is starved. A worker waits on its own ring as either
// side of shm_ring does; the hub, which waits for any of W rings, spins and then sleeps on one
// futex counter shared by all rings: it sets its sleeping flag on every ring, and a worker that
// finds the flag set on its ring clears it, bumps the counter and wakes the hub. A worker whose
// hub never sleeps makes no system call.
//
// Peer death, through a lifeline per worker: a worker fails with "peer closed" once the hub is
// gone and its ring holds nothing more. The hub, while it sleeps, looks at the lifelines every
// ring_liveness_check: fanout fails once a worker has gone before its end of stream (its ring
// would keep its share), fanin once a worker has gone without its end marker and its ring is
// empty.
#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

#include "baselines/fan_transports.hpp"
#include "peer_lifeline.hpp"
#include "size_text.hpp"
#include "spin_wait.hpp"
#include "spsc_ring.hpp"

namespace baselines {
namespace {

// Where each side sleeps on ring `index` of a pool: the hub's side on the shared counter.
ring_view pool_ring(const ring_set& rings, std::size_t index, bool fanin) {
  ring_view view = rings.ring(index);
  (fanin ? view.consumer_wake : view.producer_wake).shared = &rings.hub_word();
  return view;
}

std::runtime_error worker_closed(std::size_t index) {
  return std::runtime_error("worker " + std::to_string(index) + " closed before its end of stream");
}

class ring_hub final : public HubChannel {
 public:
  ring_hub(ring_set rings, std::vector<lifeline> workers, bool fanin)
      : rings_(std::move(rings)), workers_(std::move(workers)), ended_(workers_.size(), false) {
    for (std::size_t i = 0; i < workers_.size(); ++i) {
      const ring_view view = pool_ring(rings_, i, fanin);
      if (fanin) {
        readers_.emplace_back(view, workers_[i], shm_receive::copy_out);
      } else {
        writers_.emplace_back(view, workers_[i]);
      }
      // The flag this side sets before it sleeps on the shared counter.
      auto& control = *view.control;
      sleep_flags_.push_back(fanin ? &control.consumer_sleeping : &control.producer_sleeping);
    }
    rings_.prefault();
  }

  void send(std::span<const std::byte> message) override {
    const std::size_t count = writers_.size();
    for (;;) {
      for (std::size_t k = 0; k < count; ++k) {
        const std::size_t i = (next_ + k) % count;
        if (writers_[i].has_room_for(message.size())) {
          next_ = (i + 1) % count;
          writers_[i].write(message);
          return;
        }
      }
      wait([&] {
        return std::any_of(writers_.begin(), writers_.end(),
                           [&](ring_writer& w) { return w.has_room_for(message.size()); });
      });
    }
  }

  // One empty message in each ring: each worker takes exactly its own.
  void send_end() override {
    for (std::size_t i = 0; i < writers_.size(); ++i) {
      try {
        writers_[i].write({});
      } catch (const std::runtime_error&) {
        throw worker_closed(i);  // its ring stayed full and it has gone
      }
    }
  }

  std::span<const std::byte> receive(std::span<std::byte> scratch) override {
    const std::size_t count = readers_.size();
    for (;;) {
      for (std::size_t k = 0; k < count; ++k) {
        const std::size_t i = (next_ + k) % count;
        if (!ended_[i] && readers_[i].has_message()) {
          next_ = (i + 1) % count;
          const auto message = read_from(i, scratch);
          if (message.empty()) ended_[i] = true;
          return message;
        }
      }
      if (std::all_of(ended_.begin(), ended_.end(), [](bool e) { return e; })) {
        throw std::logic_error("every worker has ended its stream");
      }
      wait([&] {
        for (std::size_t i = 0; i < count; ++i) {
          if (!ended_[i] && readers_[i].has_message()) return true;
        }
        return false;
      });
    }
  }

 private:
  std::span<const std::byte> read_from(std::size_t i, std::span<std::byte> scratch) {
    try {
      return readers_[i].read(scratch);
    } catch (const std::runtime_error& e) {
      // A streamed message whose writer went in the middle of it.
      if (std::string(e.what()) == "peer closed") throw worker_closed(i);
      throw;
    }
  }

  // Waits until `ready()`: spins, then sleeps on the shared counter, looking at the workers'
  // lifelines whenever a sleep times out.
  template <typename Ready>
  void wait(Ready ready) {
    if (spin_until(ready)) return;
    sleep_until(ready, std::span(sleep_flags_), wake_word{&rings_.hub_word()}, [&] {
      for (std::size_t i = 0; i < workers_.size(); ++i) {
        // fanout: any worker gone before send_end(); fanin: gone without its end marker and
        // with nothing left in its ring (seen gone first, then looked at the ring).
        if (ended_[i] || !workers_[i].peer_gone()) continue;
        if (readers_.empty() || !readers_[i].has_message()) throw worker_closed(i);
      }
    });
  }

  ring_set rings_;
  std::vector<lifeline> workers_;  // not resized: the readers and writers point into it
  std::vector<bool> ended_;        // fanin: the worker's end marker has been received
  std::vector<ring_writer> writers_;
  std::vector<ring_reader> readers_;
  std::vector<std::atomic<std::uint32_t>*> sleep_flags_;
  std::size_t next_ = 0;  // the ring to try first
};

class ring_worker final : public Channel {
 public:
  ring_worker(ring_set rings, std::size_t index, lifeline hub, bool fanin)
      : rings_(std::move(rings)), hub_(std::move(hub)), fanin_(fanin) {
    const ring_view view = pool_ring(rings_, index, fanin);
    if (fanin) {
      writer_.emplace(view, hub_);
    } else {
      reader_.emplace(view, hub_, shm_receive::copy_out);
    }
    rings_.prefault();
  }

  void send(std::span<const std::byte> message) override {
    if (!fanin_) throw std::logic_error("a fanout worker only receives");
    writer_->write(message);
  }

  std::span<const std::byte> receive(std::span<std::byte> scratch) override {
    if (fanin_) throw std::logic_error("a fanin worker only sends");
    return reader_->read(scratch);
  }

 private:
  ring_set rings_;
  lifeline hub_;
  bool fanin_;
  std::optional<ring_writer> writer_;
  std::optional<ring_reader> reader_;
};

class ring_pool final : public FanTransport {
 public:
  explicit ring_pool(const FanParams& params)
      : params_(params),
        rings_(params.workers, shm_ring_default_bytes),
        lifelines_(params.workers) {}

  std::unique_ptr<HubChannel> open_hub() override {
    std::vector<lifeline> workers;
    for (lifeline_pair& pair : lifelines_) workers.push_back(pair.take(Role::leader));
    return std::make_unique<ring_hub>(std::move(rings_), std::move(workers), params_.fanin);
  }

  std::unique_ptr<Channel> open_worker(std::size_t index) override {
    return std::make_unique<ring_worker>(std::move(rings_), index,
                                         lifelines_.at(index).take(Role::follower), params_.fanin);
  }

  std::string describe() const override {
    return "one SPSC byte ring per worker (" + std::to_string(params_.workers) + " x " +
           size_text(shm_ring_default_bytes) +
           "), framed as shm_ring's, in one anonymous MAP_SHARED mapping made before fork; " +
           (params_.fanin ? "the hub takes one message from each ring that has one in turn"
                          : "the hub puts each message in the next ring with room") +
           ", copied out; wait: spin " + std::to_string(spin_time.count()) +
           " us, then the workers FUTEX_WAIT on their ring's sleeping flag, the hub on one "
           "futex counter shared by all rings (a worker bumps and wakes it only when the hub's "
           "flag on its ring is set); lifeline per worker, checked every " +
           std::to_string(ring_liveness_check.count()) + " ms of sleep";
  }

 private:
  FanParams params_;
  ring_set rings_;
  std::vector<lifeline_pair> lifelines_;
};

}  // namespace

std::unique_ptr<FanTransport> make_shm_ring_fan(const FanParams& params) {
  if (params.workers == 0) throw std::invalid_argument("a worker pool needs a worker");
  return std::make_unique<ring_pool>(params);
}

}  // namespace baselines
