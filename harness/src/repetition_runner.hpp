// Runs one repetition of one benchmark for Google Benchmark and reports it.
//
// Each repetition is one Google Benchmark benchmark of one iteration (main.cpp registers a
// benchmark once per repetition, under one name): a fresh pair of processes moving `messages`
// messages, where the count is calibrated once per benchmark (message_count.hpp) and reused by
// its other repetitions, which Google Benchmark's random interleaving shuffles among every other
// benchmark's. The reported time is per message (per round trip), as if each message were an
// iteration. A failed repetition becomes an error row with its reason; the sweep goes on.
//
// An openloop repetition sends at a share of the transport's peak rate at that size: the fastest
// of three throughput runs of the calibrated count, measured the first time a load of that
// transport and size runs, then reused by its other loads and repetitions (every row records it).
// Its count is what lasts `min_time` at the offered rate, and never under a thousand messages, so
// that p99.9 is not just the largest delay.
#pragma once

#include <benchmark/benchmark.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "payload_pool.hpp"
#include "transport_registry.hpp"
#include "workloads.hpp"

namespace harness {

class repetition_runner {
 public:
  // `min_time`: seconds a repetition should last. `corrupt_repetition`: the test seam of
  // sweep_options (0: none).
  repetition_runner(run_settings settings, double min_time, int corrupt_repetition);

  // `scale`: openloop's offered load, a percentage of the peak; pairs' number of pairs; fanout's
  // and fanin's number of workers.
  void run(benchmark::State& state, workload w, const transport_entry& transport, std::size_t size,
           int scale = 0);

 private:
  payload_pool& pool_for(std::size_t size);
  // The calibrated count of `name`, calibrating it first if needed; 0 with `failure` set when a
  // pilot run failed (that repetition reports it; the next one calibrates again).
  // The pilot runs use `settings` (for pairs, the number of pairs) without the test seams.
  std::uint64_t message_count(const std::string& name, workload w, const transport_entry& transport,
                              payload_pool& pool, const run_settings& settings,
                              run_result& failure);
  // The transport's peak in messages per second at the pool's message size, measuring it first
  // if needed; 0 with `failure` set when that run failed (the next repetition measures again).
  double peak_rate(const transport_entry& transport, payload_pool& pool, run_result& failure);

  run_settings settings_;
  double min_time_;
  int corrupt_repetition_;
  std::size_t llc_bytes_;  // sizes the payload pools (payload_pool::pool_bytes_for)
  std::map<std::size_t, std::unique_ptr<payload_pool>> pools_;  // by message size
  std::map<std::string, std::uint64_t> counts_;                 // by benchmark name
  std::map<std::string, double> peaks_;  // messages per second, by throughput benchmark name
  std::map<std::string, int> repetitions_started_;  // by benchmark name
};

}  // namespace harness
