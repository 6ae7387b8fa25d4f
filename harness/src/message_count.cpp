#include "message_count.hpp"

#include <algorithm>
#include <cmath>

namespace harness {

std::uint64_t next_pilot(std::uint64_t count, double seconds, double min_time) noexcept {
  if (seconds >= enough_to_predict * min_time || count >= max_messages) return 0;
  // Far too short to predict from (timer and start-up dominate): ten times more, as Google
  // Benchmark does; otherwise aim at half the wanted time.
  const double grown = seconds <= too_short_to_predict * min_time
                           ? static_cast<double>(count) * 10
                           : static_cast<double>(count) * 0.5 * min_time / seconds;
  return std::clamp<std::uint64_t>(static_cast<std::uint64_t>(std::ceil(grown)), count + 1,
                                   max_messages);
}

std::uint64_t predicted_count(std::uint64_t count, double seconds, double min_time) noexcept {
  const double rate = static_cast<double>(count) / std::max(seconds, 1e-9);
  const double wanted = std::ceil(rate * min_time);
  return std::clamp<std::uint64_t>(static_cast<std::uint64_t>(std::min(wanted, 1e18)), 1,
                                   max_messages);
}

}  // namespace harness
