// Messages of any size over a queue whose datagrams have a fixed maximum size (a POSIX message
// queue, a Boost.Interprocess message_queue).
//
// Framing: every message starts with a datagram holding its length (8 bytes, little-endian). A
// message that fits in the rest of that datagram travels inline (one datagram per message, the
// common case for small messages); a longer one follows as full datagrams straight from the
// caller's buffer, the last one partial, so that a large message costs no staging copy. The
// receiver reads full chunks straight into its buffer and only the tail through a bounce buffer
// (the queues refuse a receive buffer smaller than their maximum datagram).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "baselines/channel.hpp"

namespace baselines {

// Bytes of the length header at the start of a message's first datagram.
inline constexpr std::size_t chunk_header_size = sizeof(std::uint64_t);

// One side of a pair of datagram queues, one per direction. Both calls block until done and
// throw on failure (including "peer closed").
class datagram_link {
 public:
  virtual ~datagram_link() = default;

  // The largest datagram the queues carry; more than chunk_header_size.
  virtual std::size_t max_datagram() const noexcept = 0;

  // Sends one datagram of at most max_datagram() bytes.
  virtual void send(std::span<const std::byte> datagram) = 0;

  // Receives one datagram into `buffer` (at least max_datagram() bytes); returns its size.
  virtual std::size_t receive(std::span<std::byte> buffer) = 0;
};

// A Channel over `link`, framed as above.
std::unique_ptr<Channel> make_chunked_channel(std::unique_ptr<datagram_link> link);

// How many datagrams a message of `size` bytes takes over a link of `max_datagram` bytes.
std::size_t datagrams_per_message(std::size_t size, std::size_t max_datagram) noexcept;

}  // namespace baselines
