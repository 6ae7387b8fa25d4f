// The two memfd transports' channels and notices, exposed for their tests: a test holds one end
// of a socket and hands a receiver what no honest sender would (an unsealed memfd, a short one, a
// pipe, no descriptor at all, a slot out of range), to see it refused.
//   memfd (memfd.cpp): a pool of memfd_in_flight memfds per direction, reused, sealed against
//     shrinking and growing; what the receiver reads is stable because the sender does not touch
//     a slot until the receiver has released it (the flow control), as in any shared memory.
//   memfd_sealed (memfd_sealed.cpp): a fresh memfd per message, sealed against writes too, so
//     nothing the sender does can change what the receiver reads; its price is a page
//     allocation and zeroing per message.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "baselines/channel.hpp"
#include "pipes/fd.hpp"

namespace baselines {

// Messages a sender may have passed that the receiver has not yet released (acknowledged): at
// most this many per direction, the one the receiver is reading included. The pool has one
// memfd per message in flight.
inline constexpr std::size_t memfd_in_flight = 4;

// A channel over two connected AF_UNIX SOCK_SEQPACKET sockets: `sending` carries this side's
// notices out and their acknowledgements back, `receiving` the peer's notices in and this side's
// acknowledgements out. Either may be empty for a side that only receives or only sends.
std::unique_ptr<Channel> open_memfd_channel(pipes::fd sending, pipes::fd receiving);
std::unique_ptr<Channel> open_sealed_memfd_channel(pipes::fd sending, pipes::fd receiving);

// Sends one notice, as commit_loan() does: `size` and `slot` in the packet, `descriptors` (one or
// none, for an honest sender; at most 4) with SCM_RIGHTS. Seals and checks nothing. Returns false
// if the peer has gone; throws std::system_error on any other failure.
bool send_memfd_notice(const pipes::fd& socket, std::span<const int> descriptors,
                       std::uint64_t size, std::uint32_t slot = 0);

// A transport whose sides open `open_channel` over one socket pair per direction, made before
// fork(); throws `unsupported` if this kernel refuses to make a memfd and add `seals` to it.
using memfd_channel_opener = std::unique_ptr<Channel> (*)(pipes::fd sending, pipes::fd receiving);
std::unique_ptr<Transport> make_memfd_transport(memfd_channel_opener open_channel, int seals,
                                                std::string description);

}  // namespace baselines
