// The messages the transport tests send (baselines and harness): message `seq` has a size and
// bytes that both follow from `seq` alone, so a receiver can check every byte without being told
// what to expect.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <vector>

#include "baselines/channel.hpp"

namespace transport_test {

// A received message that is not the one sent: lost, reordered, truncated or corrupted.
class message_mismatch : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Sizes from `min_size` to `max_size` bytes, log-uniformly spread so that every size class
// appears; every 50th message is empty when `min_size` is 0.
struct stream_shape {
  std::size_t min_size = 0;
  std::size_t max_size = 4u << 20;
};

std::size_t size_of(std::uint64_t seq, const stream_shape& shape = {});

// Fills `out` with the bytes of message `seq` (they depend on the sequence number and position).
void fill(std::uint64_t seq, std::span<std::byte> out);

// Throws message_mismatch unless `got` is exactly message `seq`; `want` is scratch space.
void expect_message(std::uint64_t seq, std::span<const std::byte> got, std::vector<std::byte>& want,
                    const stream_shape& shape = {});

// True if `got` is exactly the `size` bytes fill(seq, ...) makes.
bool is_message(std::uint64_t seq, std::size_t size, std::span<const std::byte> got);

// Echoes `count` messages: receives each and sends it back.
void echo(baselines::Channel& channel, std::size_t count, std::size_t scratch_bytes);

}  // namespace transport_test
