// The levers of a pipes::Connection. The defaults are the fastest safe setting; each lever can be
// turned off on its own, which is how the benchmark measures what each one buys.
#pragma once

#include <chrono>
#include <cstddef>
#include <limits>

namespace pipes {

// options::pipe_capacity value meaning "as large as /proc/sys/fs/pipe-max-size allows".
inline constexpr std::size_t system_max_capacity = std::numeric_limits<std::size_t>::max();

struct options {
  // Bytes the kernel pipe this connection writes to may hold (F_SETPIPE_SZ). 0 leaves the kernel
  // default (64 KiB). The kernel rounds up to a power of two pages and may refuse (EPERM above
  // pipe-max-size or above the per-user soft limit): the request is then halved until it is
  // accepted or reaches the pipe's current size. Never fails; Connection::capacity() reports the
  // real size. A pipe that is only read from is left as its writer sized it.
  std::size_t pipe_capacity = system_max_capacity;

  // Header and payload (and a batch's messages) go out in one writev. false: Python's way, one
  // write of header + payload up to 16 KiB, separate writes above.
  bool gather_writes = true;

  // The receiver reads ahead into a buffer and parses many small frames per read(); large
  // payloads are still read straight into the destination. false: read exactly the header, then
  // exactly the payload.
  bool read_ahead = true;

  // Payloads of zero_copy_threshold bytes and more are staged in a page-aligned ring and
  // vmsplice()d into the pipe by reference; loan() hands out ring memory directly.
  bool zero_copy = true;
  std::size_t zero_copy_threshold = 8 * 1024;

  // Busy-poll for this long (poll with a zero timeout) before sleeping when a receive or poll()
  // would block, before each piece of a large payload is read, and before a zero-copy send
  // sleeps on a full pipe. Trades a core for wake-up latency.
  std::chrono::nanoseconds spin{0};

  // The largest message sent or received. A received header is never trusted to size an
  // allocation beyond this.
  std::size_t max_message_size = std::size_t{256} << 20;
};

// Every lever off: a kernel-default pipe, Python's writes (one up to 16 KiB, two above), exact
// reads, no vmsplice, no spinning. The library then reads and writes as Python's Connection does;
// the baseline each lever's gain is measured from.
inline options levers_off() {
  options o;
  o.pipe_capacity = 0;
  o.gather_writes = false;
  o.read_ahead = false;
  o.zero_copy = false;
  o.spin = std::chrono::nanoseconds(0);
  return o;
}

}  // namespace pipes
