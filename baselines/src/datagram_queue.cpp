#include "datagram_queue.hpp"

#include <stdexcept>

namespace baselines {
namespace {

class queue_pair_link final : public datagram_link {
 public:
  queue_pair_link(std::unique_ptr<datagram_queue> out, std::unique_ptr<datagram_queue> in,
                  lifeline peer)
      : out_(std::move(out)), in_(std::move(in)), peer_(std::move(peer)) {}

  std::size_t max_datagram() const noexcept override { return (out_ ? out_ : in_)->max_datagram(); }

  void send(std::span<const std::byte> datagram) override {
    if (!out_) throw std::logic_error("this side of the queue only receives");
    while (!out_->send(datagram, queue_liveness_check)) {
      if (peer_.peer_gone()) throw std::runtime_error("peer closed");
    }
  }

  std::size_t receive(std::span<std::byte> buffer) override {
    if (!in_) throw std::logic_error("this side of the queue only sends");
    for (;;) {
      if (const auto got = in_->receive(buffer, queue_liveness_check)) return *got;
      if (peer_.peer_gone()) {
        // Seen gone, then looked once more: anything it sent before it went was in the queue.
        if (const auto got = in_->receive(buffer, {})) return *got;
        throw std::runtime_error("peer closed");
      }
    }
  }

 private:
  std::unique_ptr<datagram_queue> out_, in_;
  lifeline peer_;
};

}  // namespace

std::unique_ptr<datagram_link> make_queue_pair_link(std::unique_ptr<datagram_queue> out,
                                                    std::unique_ptr<datagram_queue> in,
                                                    lifeline peer) {
  return std::make_unique<queue_pair_link>(std::move(out), std::move(in), std::move(peer));
}

}  // namespace baselines
