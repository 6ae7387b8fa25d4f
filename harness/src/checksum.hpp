// The receiver's per-message check. It must run at memory speed, or the check, not the
// transport, is what gets measured: a Fletcher-style pair of sums over 64-bit words in four
// independent lanes (no byte-wise CRC). The second sum weights each word by its position, so a
// reordering of words or blocks is caught as well as a changed, dropped or added byte.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace harness {

std::uint64_t checksum(std::span<const std::byte> data) noexcept;

}  // namespace harness
