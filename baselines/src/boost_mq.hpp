// boost_mq's queue geometry, exposed for its tests (chunk boundaries depend on it), and its
// queue, shared with the worker pool (fan_boost_mq.cpp).
#pragma once

#include <cstddef>
#include <memory>

#include "datagram_queue.hpp"

namespace baselines {

// Bytes per message slot (the chunk size) and slots per queue; the reasons are in
// baselines/README.md, with the measurements that chose them.
inline constexpr std::size_t boost_mq_slot_size = 64u << 10;
inline constexpr std::size_t boost_mq_slots = 64;

// A message_queue of `slots` x `slot_size` bytes, created owner-only under an unguessable name
// that is removed at once: every process that uses it inherits the mapping across fork().
std::unique_ptr<datagram_queue> make_boost_mq_queue(std::size_t slots, std::size_t slot_size);

}  // namespace baselines
