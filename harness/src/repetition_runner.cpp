#include "repetition_runner.hpp"

#include <numeric>

#include "host_facts.hpp"
#include "message_count.hpp"

namespace harness {
namespace {

// The pools a sweep keeps at once (one per message size, so that interleaved repetitions do not
// regenerate them); beyond this the cache starts over.
constexpr std::size_t pool_cache_budget = std::size_t{4} << 30;

// Every row carries the configuration that produced it (Google Benchmark's label).
void label(benchmark::State& state, const run_result& result) {
  if (!result.description.empty()) state.SetLabel(result.description);
}

void report_failure(benchmark::State& state, const run_result& result) {
  label(state, result);
  state.SkipWithError(result.error.c_str());
}

void report_success(benchmark::State& state, workload w, const run_result& result,
                    const payload_pool& pool, std::uint64_t count) {
  for (auto _ : state) {
  }
  label(state, result);
  using benchmark::Counter;
  const double seconds = result.seconds;
  const double messages = static_cast<double>(count);
  // Per message (per round trip), as if each message were one of Google Benchmark's iterations.
  state.SetIterationTime(seconds / messages);
  auto& c = state.counters;
  c["items_per_second"] = messages / seconds;
  if (w == workload::throughput) {
    c["bytes_per_second"] = Counter(messages * static_cast<double>(pool.message_size()) / seconds,
                                    Counter::kDefaults, Counter::kIs1024);
  }
  c["cpu_s_per_GiB"] = result.cpu_seconds_per_gib();
  c["verified"] = 1;
  c["messages"] = messages;
  c["pool_bytes"] =
      Counter(static_cast<double>(pool.bytes()), Counter::kDefaults, Counter::kIs1024);
  c["steal_pct"] = result.host.steal_pct;
  c["loadavg_1m"] = result.host.loadavg_1m;
  if (result.pipe_capacity) {
    c["pipe_capacity"] =
        Counter(static_cast<double>(*result.pipe_capacity), Counter::kDefaults, Counter::kIs1024);
  }
  if (w == workload::latency) {
    c["rtt_p50_ns"] = static_cast<double>(result.latency.p50_ns);
    c["rtt_p90_ns"] = static_cast<double>(result.latency.p90_ns);
    c["rtt_p99_ns"] = static_cast<double>(result.latency.p99_ns);
    c["rtt_p999_ns"] = static_cast<double>(result.latency.p999_ns);
    c["rtt_max_ns"] = static_cast<double>(result.latency.max_ns);
  }
}

}  // namespace

repetition_runner::repetition_runner(run_settings settings, double min_time, int corrupt_repetition)
    : settings_(settings),
      min_time_(min_time),
      corrupt_repetition_(corrupt_repetition),
      llc_bytes_(last_level_cache_bytes()) {}

payload_pool& repetition_runner::pool_for(std::size_t size) {
  if (auto it = pools_.find(size); it != pools_.end()) return *it->second;
  const std::size_t held = std::accumulate(
      pools_.begin(), pools_.end(), std::size_t{0},
      [](std::size_t sum, const auto& entry) { return sum + entry.second->bytes(); });
  if (held + payload_pool::pool_bytes_for(size, llc_bytes_) > pool_cache_budget) pools_.clear();
  return *pools_.emplace(size, std::make_unique<payload_pool>(size, llc_bytes_)).first->second;
}

std::uint64_t repetition_runner::message_count(const std::string& name, workload w,
                                               const transport_entry& transport, payload_pool& pool,
                                               run_result& failure) {
  if (auto it = counts_.find(name); it != counts_.end()) return it->second;
  run_settings pilot_settings = settings_;
  pilot_settings.inject_corruption = false;
  for (std::uint64_t pilot = 1;;) {
    run_result result = run_workload(w, transport, pool, pilot, pilot_settings);
    if (!result.ok()) {
      if (!result.skipped) result.error = "calibrating the message count: " + result.error;
      failure = std::move(result);
      return 0;
    }
    const std::uint64_t next = next_pilot(pilot, result.seconds, min_time_);
    if (next == 0) {
      return counts_[name] = predicted_count(pilot, result.seconds, min_time_);
    }
    pilot = next;
  }
}

void repetition_runner::run(benchmark::State& state, workload w, const transport_entry& transport,
                            std::size_t size) {
  const std::string name = benchmark_name(w, transport.id, size);
  const int repetition = ++repetitions_started_[name];
  payload_pool& pool = pool_for(size);

  run_result failure;
  const std::uint64_t count = message_count(name, w, transport, pool, failure);
  if (count == 0) return report_failure(state, failure);

  run_settings settings = settings_;
  settings.inject_corruption = repetition == corrupt_repetition_;
  const run_result result = run_workload(w, transport, pool, count, settings);
  if (!result.ok()) return report_failure(state, result);
  report_success(state, w, result, pool, count);
}

}  // namespace harness
