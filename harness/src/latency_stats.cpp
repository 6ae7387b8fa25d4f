#include "latency_stats.hpp"

#include <algorithm>
#include <cmath>

namespace harness {

std::uint64_t percentile(std::span<const std::uint64_t> sorted, double percent) noexcept {
  const auto n = static_cast<double>(sorted.size());
  // The rank is computed in integer-safe steps: ceil(p/100 * n), at least 1.
  auto rank = static_cast<std::size_t>(std::ceil(percent / 100.0 * n - 1e-9));
  rank = std::clamp<std::size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

latency_summary summarise(std::span<std::uint64_t> samples) noexcept {
  if (samples.empty()) return {};
  std::sort(samples.begin(), samples.end());
  return {percentile(samples, 50), percentile(samples, 90), percentile(samples, 99),
          percentile(samples, 99.9), samples.back()};
}

}  // namespace harness
