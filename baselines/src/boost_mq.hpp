// boost_mq's queue geometry, exposed for its tests (chunk boundaries depend on it).
#pragma once

#include <cstddef>

namespace baselines {

// Bytes per message slot (the chunk size) and slots per queue; the reasons are in
// baselines/README.md, with the measurements that chose them.
inline constexpr std::size_t boost_mq_slot_size = 64u << 10;
inline constexpr std::size_t boost_mq_slots = 64;

}  // namespace baselines
