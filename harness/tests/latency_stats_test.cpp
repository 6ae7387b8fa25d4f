#include "latency_stats.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>
#include <vector>

namespace {

TEST(LatencyStats, nearest_rank_on_one_to_a_thousand) {
  std::vector<std::uint64_t> samples(1000);
  std::iota(samples.begin(), samples.end(), 1);
  std::shuffle(samples.begin(), samples.end(), std::mt19937(1));
  const auto s = harness::summarise(samples);
  EXPECT_EQ(s.p50_ns, 500u);
  EXPECT_EQ(s.p90_ns, 900u);
  EXPECT_EQ(s.p99_ns, 990u);
  EXPECT_EQ(s.p999_ns, 999u);
  EXPECT_EQ(s.max_ns, 1000u);
}

TEST(LatencyStats, small_samples_report_real_values) {
  std::vector<std::uint64_t> one{42};
  const auto s = harness::summarise(one);
  EXPECT_EQ(s.p50_ns, 42u);
  EXPECT_EQ(s.p999_ns, 42u);
  std::vector<std::uint64_t> three{30, 10, 20};
  const auto t = harness::summarise(three);
  EXPECT_EQ(t.p50_ns, 20u);  // rank ceil(1.5) = 2
  EXPECT_EQ(t.p90_ns, 30u);
  EXPECT_EQ(t.max_ns, 30u);
}

TEST(LatencyStats, percentile_never_interpolates) {
  const std::vector<std::uint64_t> sorted{1, 100};
  EXPECT_EQ(harness::percentile(sorted, 50), 1u);
  EXPECT_EQ(harness::percentile(sorted, 50.1), 100u);
  EXPECT_EQ(harness::percentile(sorted, 100), 100u);
}

TEST(LatencyStats, empty_is_all_zero) {
  std::vector<std::uint64_t> none;
  EXPECT_EQ(harness::summarise(none).max_ns, 0u);
}

}  // namespace
