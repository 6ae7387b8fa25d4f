#include "repetition_runner.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string_view>

#include "host_facts.hpp"
#include "message_count.hpp"

namespace harness {
namespace {

// The pools a sweep keeps at once (one per message size, so that interleaved repetitions do not
// regenerate them); beyond this the cache starts over.
constexpr std::size_t pool_cache_budget = std::size_t{4} << 30;

// The fewest messages an open-loop repetition sends, whatever the rate.
constexpr std::uint64_t min_open_loop_messages = 1000;
// A transport's peak is the fastest of this many throughput runs: on a shared machine noise only
// ever slows a run down, and a low peak would offer every load below what it says.
constexpr int peak_runs = 3;

// An open-loop repetition at a share of the transport's peak.
struct open_loop_plan {
  double peak = 0;  // messages per second
  int load_percent = 0;
  std::chrono::nanoseconds interval{0};  // between intended sends
  std::uint64_t count = 0;

  double offered() const noexcept { return 1e9 / static_cast<double>(interval.count()); }
};

open_loop_plan plan_open_loop(double peak, int load_percent, double min_time) {
  open_loop_plan plan{.peak = peak, .load_percent = load_percent};
  const double rate = peak * load_percent / 100;
  plan.interval = std::chrono::nanoseconds(std::max<std::int64_t>(1, std::llround(1e9 / rate)));
  const double lasting = std::ceil(min_time * plan.offered());
  plan.count = std::clamp<std::uint64_t>(static_cast<std::uint64_t>(std::min(lasting, 1e18)),
                                         min_open_loop_messages, max_messages);
  return plan;
}

// Every row carries the configuration that produced it (Google Benchmark's label).
void label(benchmark::State& state, const run_result& result) {
  if (!result.description.empty()) state.SetLabel(result.description);
}

void report_failure(benchmark::State& state, const run_result& result) {
  label(state, result);
  state.SkipWithError(result.error.c_str());
}

void report_percentiles(benchmark::State& state, std::string_view prefix,
                        const latency_summary& latency) {
  auto& c = state.counters;
  const std::string p(prefix);
  c[p + "p50_ns"] = static_cast<double>(latency.p50_ns);
  c[p + "p90_ns"] = static_cast<double>(latency.p90_ns);
  c[p + "p99_ns"] = static_cast<double>(latency.p99_ns);
  c[p + "p999_ns"] = static_cast<double>(latency.p999_ns);
  c[p + "max_ns"] = static_cast<double>(latency.max_ns);
}

void report_success(benchmark::State& state, workload w, const run_result& result,
                    const payload_pool& pool, std::uint64_t count) {
  for (auto _ : state) {
  }
  label(state, result);
  using benchmark::Counter;
  const double seconds = result.seconds;
  // Every pair's messages for pairs; `count` (each direction's) otherwise.
  const double messages = static_cast<double>(w == workload::pairs ? result.messages : count);
  // Per message (per round trip), as if each message were one of Google Benchmark's iterations.
  state.SetIterationTime(seconds / messages);
  auto& c = state.counters;
  c["items_per_second"] = messages / seconds;
  if (w == workload::throughput || w == workload::pairs || is_fan(w)) {
    c["bytes_per_second"] = Counter(messages * static_cast<double>(pool.message_size()) / seconds,
                                    Counter::kDefaults, Counter::kIs1024);
  }
  // The open-loop sender spins up to each message's due time: its CPU time is the pacing, not
  // the transport.
  if (w != workload::openloop) c["cpu_s_per_GiB"] = result.cpu_seconds_per_gib();
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
  if (w == workload::latency) report_percentiles(state, "rtt_", result.latency);
  if (w == workload::openloop) report_percentiles(state, "lat_", result.latency);
  if (w == workload::pairs) c["slowest_pair_share"] = result.slowest_pair_share;
  if (is_fan(w)) c["slowest_worker_share"] = result.slowest_worker_share;
}

void report_open_loop(benchmark::State& state, const open_loop_plan& plan,
                      const run_result& result) {
  auto& c = state.counters;
  c["peak_msgs_per_s"] = plan.peak;
  c["load_pct"] = plan.load_percent;
  c["offered_msgs_per_s"] = plan.offered();
  c["achieved_msgs_per_s"] = static_cast<double>(plan.count) / result.seconds;
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
                                               const run_settings& settings, run_result& failure) {
  if (auto it = counts_.find(name); it != counts_.end()) return it->second;
  run_settings pilot_settings = settings;
  pilot_settings.inject_corruption = false;
  pilot_settings.inject_stall = {};
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

double repetition_runner::peak_rate(const transport_entry& transport, payload_pool& pool,
                                    run_result& failure) {
  const std::string name = benchmark_name(workload::throughput, transport.id, pool.message_size());
  if (auto it = peaks_.find(name); it != peaks_.end()) return it->second;
  const std::uint64_t count =
      message_count(name, workload::throughput, transport, pool, settings_, failure);
  if (count == 0) return 0;
  double fastest = 0;
  for (int i = 0; i < peak_runs; ++i) {
    run_result result = run_workload(workload::throughput, transport, pool, count, settings_);
    if (!result.ok()) {
      if (!result.skipped) result.error = "measuring the peak: " + result.error;
      failure = std::move(result);
      return 0;
    }
    fastest = std::max(fastest, static_cast<double>(count) / result.seconds);
  }
  return peaks_[name] = fastest;
}

void repetition_runner::run(benchmark::State& state, workload w, const transport_entry& transport,
                            std::size_t size, int scale) {
  const std::string name = benchmark_name(w, transport.id, size, scale);
  const int repetition = ++repetitions_started_[name];
  payload_pool& pool = pool_for(size);

  run_settings settings = settings_;
  settings.inject_corruption = repetition == corrupt_repetition_;
  run_result failure;
  std::uint64_t count = 0;
  open_loop_plan plan;
  if (w == workload::openloop) {
    const double peak = peak_rate(transport, pool, failure);
    if (peak == 0) return report_failure(state, failure);
    plan = plan_open_loop(peak, scale, min_time_);
    settings.send_interval = plan.interval;
    count = plan.count;
  } else {
    if (w == workload::pairs) settings.pairs = scale;
    if (is_fan(w)) settings.workers = scale;
    count = message_count(name, w, transport, pool, settings, failure);
    if (count == 0) return report_failure(state, failure);
  }

  const run_result result = run_workload(w, transport, pool, count, settings);
  if (!result.ok()) return report_failure(state, result);
  report_success(state, w, result, pool, count);
  if (w == workload::openloop) report_open_loop(state, plan, result);
}

}  // namespace harness
