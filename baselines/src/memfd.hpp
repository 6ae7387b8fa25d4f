// memfd's channel and its notices, exposed for its tests: a test holds one end of a socket and
// hands the receiver what no honest sender would (an unsealed memfd, a short one, a pipe, no
// descriptor at all), to see it refused.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "baselines/channel.hpp"
#include "pipes/fd.hpp"

namespace baselines {

// Messages a sender may have passed that the receiver has not yet released (acknowledged): at
// most this many memfds exist per direction, the one the receiver is reading included.
inline constexpr std::size_t memfd_in_flight = 4;

// A memfd channel over two connected AF_UNIX SOCK_SEQPACKET sockets: `sending` carries this
// side's notices out and their acknowledgements back, `receiving` the peer's notices in and this
// side's acknowledgements out. Either may be empty for a side that only receives or only sends.
std::unique_ptr<Channel> open_memfd_channel(pipes::fd sending, pipes::fd receiving);

// Sends one notice, as commit_loan() does: `size` in the packet and `descriptors` (one, for an
// honest sender; at most 4) with SCM_RIGHTS. Seals and checks nothing. Returns false if the peer
// has gone; throws std::system_error on any other failure.
bool send_memfd_notice(const pipes::fd& socket, std::span<const int> descriptors,
                       std::uint64_t size);

}  // namespace baselines
