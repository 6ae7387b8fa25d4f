#include "sweep_options.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

struct argv_builder {
  std::vector<std::string> storage;
  std::vector<char*> pointers;
  explicit argv_builder(std::vector<std::string> args) : storage(std::move(args)) {
    for (auto& s : storage) pointers.push_back(s.data());
    pointers.push_back(nullptr);
  }
  int argc() const { return static_cast<int>(storage.size()); }
};

TEST(SweepOptions, default_sweep_is_64_bytes_to_64_mib_in_steps_of_four) {
  const auto sizes = harness::default_sizes();
  ASSERT_EQ(sizes.size(), 11u);
  EXPECT_EQ(sizes.front(), 64u);
  EXPECT_EQ(sizes.back(), 64u << 20);
}

TEST(SweepOptions, takes_its_own_flags_and_leaves_google_benchmarks) {
  argv_builder args({"pipebench", "--quick", "--benchmark_filter=x", "--sizes=64,4K,1M",
                     "--cpus=1,0", "--transports=naive_pipe"});
  int argc = args.argc();
  const auto options = harness::parse_sweep_options(argc, args.pointers.data());
  EXPECT_TRUE(options.quick);
  EXPECT_EQ(options.sizes, (std::vector<std::size_t>{64, 4096, 1 << 20}));
  EXPECT_EQ(options.leader_cpu, 1);
  EXPECT_EQ(options.follower_cpu, 0);
  EXPECT_EQ(options.transports, std::vector<std::string>{"naive_pipe"});
  ASSERT_EQ(argc, 2);
  EXPECT_STREQ(args.pointers[1], "--benchmark_filter=x");
}

TEST(SweepOptions, quick_sweep_sizes) {
  argv_builder args({"pipebench", "--quick"});
  int argc = args.argc();
  EXPECT_EQ(harness::parse_sweep_options(argc, args.pointers.data()).sizes, harness::quick_sizes());
}

TEST(SweepOptions, open_loop_loads_default_to_10_50_90_percent) {
  argv_builder defaults({"pipebench"});
  int argc = defaults.argc();
  EXPECT_EQ(harness::parse_sweep_options(argc, defaults.pointers.data()).loads,
            (std::vector<int>{10, 50, 90}));
  argv_builder chosen({"pipebench", "--loads=25,100"});
  argc = chosen.argc();
  EXPECT_EQ(harness::parse_sweep_options(argc, chosen.pointers.data()).loads,
            (std::vector<int>{25, 100}));
  for (const char* bad : {"--loads=0", "--loads=101", "--loads=50,x"}) {
    argv_builder args({"pipebench", bad});
    argc = args.argc();
    EXPECT_THROW(harness::parse_sweep_options(argc, args.pointers.data()), std::invalid_argument)
        << bad;
  }
}

TEST(SweepOptions, pair_counts_default_to_1_2_4) {
  argv_builder defaults({"pipebench"});
  int argc = defaults.argc();
  EXPECT_EQ(harness::parse_sweep_options(argc, defaults.pointers.data()).pair_counts,
            (std::vector<int>{1, 2, 4}));
  argv_builder chosen({"pipebench", "--pairs=3,8"});
  argc = chosen.argc();
  EXPECT_EQ(harness::parse_sweep_options(argc, chosen.pointers.data()).pair_counts,
            (std::vector<int>{3, 8}));
  for (const char* bad : {"--pairs=0", "--pairs=65", "--pairs=2,x"}) {
    argv_builder args({"pipebench", bad});
    argc = args.argc();
    EXPECT_THROW(harness::parse_sweep_options(argc, args.pointers.data()), std::invalid_argument)
        << bad;
  }
}

TEST(SweepOptions, malformed_values_are_rejected_with_a_message) {
  argv_builder args({"pipebench", "--sizes=12Q"});
  int argc = args.argc();
  EXPECT_THROW(harness::parse_sweep_options(argc, args.pointers.data()), std::invalid_argument);
}

}  // namespace
