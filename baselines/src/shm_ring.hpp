// shm_ring's ring size, exposed for its tests (a small ring makes wrap-around cheap to reach).
#pragma once

#include <cstddef>
#include <memory>

#include "baselines/channel.hpp"

namespace baselines {

// Bytes of each direction's ring; the reasons are in baselines/README.md. shm_ring_inplace grows
// its ring to hold two messages of the run's size whole, up to the cap (larger ones stream).
inline constexpr std::size_t shm_ring_default_bytes = 4u << 20;
inline constexpr std::size_t shm_ring_inplace_max_bytes = std::size_t{256} << 20;

// How a receiver takes a message that sits whole in the ring: copied out into its own buffer, as
// every other transport's receiver does (shm_ring), or read where it is, and released on the
// next receive (shm_ring_inplace: what only shared memory can do). Messages too large to sit
// whole in the ring are copied out either way.
enum class shm_receive { copy_out, in_place };

// A shm_ring with a ring of `ring_bytes` per direction: a power of two, at least 4 KiB.
std::unique_ptr<Transport> make_shm_ring(const TransportParams& params, std::size_t ring_bytes,
                                         shm_receive how = shm_receive::copy_out);

}  // namespace baselines
