// Round-trip percentiles by the nearest-rank method: the p-th percentile of N samples is the
// smallest sample with at least p% of the samples at or below it, so every reported value is a
// round trip that really happened.
#pragma once

#include <cstdint>
#include <span>

namespace harness {

struct latency_summary {
  std::uint64_t p50_ns = 0;
  std::uint64_t p90_ns = 0;
  std::uint64_t p99_ns = 0;
  std::uint64_t p999_ns = 0;
  std::uint64_t max_ns = 0;
};

// Nearest-rank percentile of `sorted` (ascending, non-empty), `percent` in (0, 100].
std::uint64_t percentile(std::span<const std::uint64_t> sorted, double percent) noexcept;

// Sorts `samples` in place and summarises them; all zeros for no samples.
latency_summary summarise(std::span<std::uint64_t> samples) noexcept;

}  // namespace harness
