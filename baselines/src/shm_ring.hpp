// shm_ring's ring size, exposed for its tests (a small ring makes wrap-around cheap to reach).
#pragma once

#include <cstddef>
#include <memory>

#include "baselines/channel.hpp"

namespace baselines {

// Bytes of each direction's ring; the reasons are in baselines/README.md.
inline constexpr std::size_t shm_ring_default_bytes = 4u << 20;

// make_shm_ring with a ring of `ring_bytes` per direction: a power of two, at least 4 KiB.
std::unique_ptr<Transport> make_shm_ring(const TransportParams& params, std::size_t ring_bytes);

}  // namespace baselines
