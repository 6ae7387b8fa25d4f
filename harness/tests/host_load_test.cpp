#include "host_load.hpp"

#include <gtest/gtest.h>

namespace {

using harness::cpu_ticks;

TEST(HostLoad, steal_is_its_share_of_all_cpu_time_in_the_interval) {
  EXPECT_DOUBLE_EQ(harness::steal_percent({1000, 10}, {1200, 60}), 25.0);
  EXPECT_DOUBLE_EQ(harness::steal_percent({1000, 10}, {1200, 10}), 0.0);
}

TEST(HostLoad, no_elapsed_time_or_a_reset_counter_is_no_steal) {
  EXPECT_DOUBLE_EQ(harness::steal_percent({1000, 10}, {1000, 10}), 0.0);
  EXPECT_DOUBLE_EQ(harness::steal_percent({1000, 10}, {900, 5}), 0.0);
}

TEST(HostLoad, reads_this_machine) {
  const cpu_ticks now = harness::read_cpu_ticks();
  EXPECT_GT(now.total, 0u);
  EXPECT_LE(now.steal, now.total);
  EXPECT_GE(harness::load_average_1m(), 0.0);
}

}  // namespace
