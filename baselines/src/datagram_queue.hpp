// A message queue of datagrams with a fixed maximum size (a POSIX message queue, a
// Boost.Interprocess message_queue), as the transports built on one see it: the pair transports
// (one queue per direction, chunking.hpp) and the worker pools (one queue shared by every worker,
// fan_shared_queue.hpp). The queues have no end-of-file: a blocked side waits in slices of
// queue_liveness_check and looks at the other side's lifeline in between.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <span>

#include "chunking.hpp"
#include "peer_lifeline.hpp"

namespace baselines {

// How long a blocked send or receive waits before it checks that the peer still exists.
inline constexpr auto queue_liveness_check = std::chrono::milliseconds(100);

class datagram_queue {
 public:
  virtual ~datagram_queue() = default;

  // The largest datagram the queue carries.
  virtual std::size_t max_datagram() const noexcept = 0;

  // Sends one datagram, waiting at most `wait` for room; false if there was none.
  virtual bool send(std::span<const std::byte> datagram, std::chrono::milliseconds wait) = 0;

  // Receives one datagram into `buffer` (at least max_datagram() bytes), waiting at most `wait`;
  // nothing if the queue stayed empty.
  virtual std::optional<std::size_t> receive(std::span<std::byte> buffer,
                                             std::chrono::milliseconds wait) = 0;
};

// One side of a pair: sends on `out`, receives from `in`, and reports "peer closed" once `peer`
// is gone and the queue it waits on is empty (what the peer sent before it went is delivered).
// Either queue may be null for a side that only receives or only sends.
std::unique_ptr<datagram_link> make_queue_pair_link(std::unique_ptr<datagram_queue> out,
                                                    std::unique_ptr<datagram_queue> in,
                                                    lifeline peer);

}  // namespace baselines
