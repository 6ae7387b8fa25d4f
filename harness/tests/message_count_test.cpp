#include "message_count.hpp"

#include <gtest/gtest.h>

namespace {

using harness::next_pilot;
using harness::predicted_count;

TEST(MessageCount, a_pilot_too_short_to_predict_from_grows_tenfold) {
  EXPECT_EQ(next_pilot(1, 1e-6, 0.5), 10u);
  EXPECT_EQ(next_pilot(10, 0.001, 0.5), 100u);
}

TEST(MessageCount, a_pilot_of_a_quarter_of_the_time_is_enough) {
  EXPECT_EQ(next_pilot(1000, 0.125, 0.5), 0u);
  EXPECT_EQ(next_pilot(1000, 3.0, 0.5), 0u);
}

TEST(MessageCount, a_pilot_long_enough_to_predict_from_aims_at_half_the_time) {
  EXPECT_EQ(next_pilot(1000, 0.05, 0.5), 5000u);
  EXPECT_EQ(next_pilot(1000, 0.124, 0.5), 2017u);  // and always grows
}

TEST(MessageCount, the_count_lasts_about_the_wanted_time) {
  EXPECT_EQ(predicted_count(1000, 0.05, 0.5), 10000u);
  EXPECT_EQ(predicted_count(10, 2.0, 0.5), 3u);  // rounded up
  EXPECT_EQ(predicted_count(1, 10.0, 0.5), 1u);  // never zero
}

TEST(MessageCount, counts_are_bounded) {
  EXPECT_EQ(predicted_count(harness::max_messages, 1e-9, 0.5), harness::max_messages);
  EXPECT_EQ(next_pilot(harness::max_messages, 1e-9, 0.5), 0u);
}

}  // namespace
