// What the two memfd transports (memfd.cpp: a reused pool; memfd_sealed.cpp: a fresh sealed
// memfd per message) share: the notices that announce a message, the 1-byte acknowledgements
// that release one, the shared mappings, the receiver's check of a memfd's seals, and (in
// memfd_common.cpp, declared in memfd.hpp) the transport around the channels.
//
// A notice is one AF_UNIX SOCK_SEQPACKET packet: the message's size and the pool slot it is in
// (8 + 4 bytes), with at most one memfd passed beside it by SCM_RIGHTS. Acknowledgements travel
// back in order, one per message, on the same socket.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "pipes/fd.hpp"

namespace baselines::memfd_detail {

// A shared mapping of the first `size` bytes of a file, unmapped on destruction; none at all for
// zero bytes (mmap refuses a zero length). With `prefault`, MAP_POPULATE faults its pages in up
// front (for a mapping about to be read or written whole).
class mapping {
 public:
  mapping() noexcept = default;
  mapping(const pipes::fd& file, std::size_t size, int protection, bool prefault = true);
  mapping(mapping&& other) noexcept;
  mapping& operator=(mapping&& other) noexcept;
  ~mapping() { reset(); }

  void reset() noexcept;
  std::span<std::byte> bytes() const noexcept { return {data_, size_}; }

 private:
  std::byte* data_ = nullptr;
  std::size_t size_ = 0;
};

struct notice {
  std::uint64_t size = 0;
  std::uint32_t slot = 0;
  pipes::fd file;  // empty when none came with it
};

// Reads one notice. Every descriptor that arrived is owned (so closed) before the notice is
// judged, so a refused notice leaks none. Throws "peer closed" at end of file, and a clear error
// for a malformed notice or one with more than one descriptor.
notice read_notice(const pipes::fd& socket);

// Sends one notice with `descriptors` beside it (at most 4: more is a caller's bug). Seals and
// checks nothing. False if the peer has gone; throws std::system_error on any other failure.
bool send_notice(const pipes::fd& socket, std::span<const int> descriptors, std::uint64_t size,
                 std::uint32_t slot);

// The receiver's "done with the message": false if the peer has gone (it needs none then).
bool send_acknowledgement(const pipes::fd& socket);
// The sender's wait for one; throws "peer closed" if the receiver has gone.
void await_acknowledgement(const pipes::fd& socket);

// Refuses a descriptor that is not a memfd, lacks any of `required` seals (each named in the
// error), or holds fewer than `size` bytes. Returns the file's size.
std::uint64_t require_seals(const pipes::fd& file, int required, std::uint64_t size);

[[noreturn]] void throw_errno(const char* what);
[[noreturn]] void throw_peer_closed();

}  // namespace baselines::memfd_detail
