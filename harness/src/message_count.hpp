// How many messages one repetition of a benchmark times. Every repetition of a benchmark runs
// the same count, found once by pilot runs, as Google Benchmark finds its iteration count: each
// pilot runs more messages until one lasts long enough to predict from. The harness does this
// itself (each Google Benchmark iteration is one whole repetition) so that a failed repetition
// never leaves the others with a count guessed from a failure.
#pragma once

#include <cstdint>

namespace harness {

// The pilot may stop when its run lasted at least this share of the wanted time: long enough
// that start-up costs and one descheduled moment do not set the count for every repetition.
inline constexpr double enough_to_predict = 0.25;
// Below this share, a pilot says too little to predict from: the next one is ten times longer.
inline constexpr double too_short_to_predict = 0.025;
inline constexpr std::uint64_t max_messages = 1'000'000'000;

// After a pilot of `count` messages took `seconds`: the count of the next pilot, or 0 when this
// one lasted long enough to predict from.
std::uint64_t next_pilot(std::uint64_t count, double seconds, double min_time) noexcept;

// The count a repetition runs so that it lasts about `min_time`, predicted from a pilot.
std::uint64_t predicted_count(std::uint64_t count, double seconds, double min_time) noexcept;

}  // namespace harness
