// The harness's own command-line options (Google Benchmark's --benchmark_* flags pass through).
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace harness {

struct sweep_options {
  std::vector<std::size_t> sizes;       // message sizes in bytes
  std::vector<std::string> transports;  // ids; empty means all
  // "throughput", "latency", "openloop", "pairs", "fanout", "fanin"; empty means throughput and
  // latency (the others run only when named: openloop measures each transport's peak first and
  // runs at several loads, pairs, fanout and fanin run each cell at several process counts).
  std::vector<std::string> workloads;
  // openloop: the offered loads, each a percentage of the transport's peak at that size.
  std::vector<int> loads = {10, 50, 90};
  // pairs: how many pairs run at once, one benchmark each.
  std::vector<int> pair_counts = {1, 2, 4};
  // fanout, fanin: how many workers, one benchmark each.
  std::vector<int> worker_counts = {1, 2, 4};
  int leader_cpu = -1;
  int follower_cpu = -1;
  std::chrono::milliseconds stall_timeout = std::chrono::seconds(5);
  bool quick = false;
  bool list = false;
  // --remote-peer=HOST:PORT: the follower runs on another host, in pipebench-peer
  // (remote_peer.hpp); empty when both roles run here.
  std::string remote_peer;
  // Test seam (--inject-corruption=R): the Rth repetition (1-based) of every benchmark finds its
  // middle message corrupted, so a failing repetition can be produced in a real sweep.
  int corrupt_repetition = 0;
};

// The default sweep: 64 B to 64 MiB in steps of 4. Quick: 64 B, 4 KiB, 64 KiB, 1 MiB.
std::vector<std::size_t> default_sizes();
std::vector<std::size_t> quick_sizes();

// Parses and removes the harness's options from argv, leaving the rest for Google Benchmark.
// Throws std::invalid_argument with a message for a malformed option.
sweep_options parse_sweep_options(int& argc, char** argv);

// The usage text of the harness's own options.
std::string sweep_usage();

}  // namespace harness
