// pipebench: registers <workload>/<transport>/bytes:<N> for every selected transport, workload
// and size, and runs them with Google Benchmark.
#include <benchmark/benchmark.h>
#include <signal.h>

#include <algorithm>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "host_facts.hpp"
#include "sweep_options.hpp"
#include "transport_registry.hpp"
#include "workloads.hpp"

namespace {

using harness::workload;

// Each benchmark run forks its own pair of processes; the work and its clock live there, so the
// loop below only reports the leader's measured time (manual time).
void run_one(benchmark::State& state, workload w, const harness::transport_entry& transport,
             std::size_t size, const harness::run_settings& settings) {
  const auto count = static_cast<std::uint64_t>(state.max_iterations);
  const harness::run_result result = harness::run_workload(w, transport, size, count, settings);
  if (!result.ok()) {
    state.SkipWithError(result.error.c_str());
    return;
  }
  for (auto _ : state) {
  }
  state.SetIterationTime(result.seconds);
  state.SetItemsProcessed(static_cast<std::int64_t>(count));  // messages, or round trips
  if (w == workload::throughput) state.SetBytesProcessed(static_cast<std::int64_t>(count * size));
  state.counters["cpu_s_per_GiB"] = result.cpu_seconds_per_gib();
  state.counters["verified"] = 1;
  if (w == workload::latency) {
    state.counters["rtt_p50_ns"] = static_cast<double>(result.latency.p50_ns);
    state.counters["rtt_p90_ns"] = static_cast<double>(result.latency.p90_ns);
    state.counters["rtt_p99_ns"] = static_cast<double>(result.latency.p99_ns);
    state.counters["rtt_p999_ns"] = static_cast<double>(result.latency.p999_ns);
    state.counters["rtt_max_ns"] = static_cast<double>(result.latency.max_ns);
  }
}

bool selected(const std::vector<std::string>& chosen, std::string_view id) {
  return chosen.empty() || std::find(chosen.begin(), chosen.end(), id) != chosen.end();
}

// Google Benchmark 1.7 takes --benchmark_min_time as a bare number of seconds.
bool has_flag(int argc, char** argv, const char* prefix) {
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], prefix, std::strlen(prefix)) == 0) return true;
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  ::signal(SIGPIPE, SIG_IGN);
  harness::sweep_options options;
  try {
    options = harness::parse_sweep_options(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "pipebench: " << e.what() << "\n\n" << harness::sweep_usage();
    return 2;
  }
  if (options.list) {
    for (const auto& t : harness::transports()) std::cout << t.id << "\t" << t.summary << "\n";
    return 0;
  }
  for (const auto& id : options.transports) {
    if (!harness::find_transport(id)) {
      std::cerr << "pipebench: unknown transport '" << id << "' (--list shows them)\n";
      return 2;
    }
  }

  std::vector<char*> args(argv, argv + argc);
  std::string quick_min_time = "--benchmark_min_time=0.05";
  if (options.quick && !has_flag(argc, argv, "--benchmark_min_time")) {
    args.push_back(quick_min_time.data());
  }
  args.push_back(nullptr);
  int args_count = static_cast<int>(args.size()) - 1;
  benchmark::Initialize(&args_count, args.data());
  if (benchmark::ReportUnrecognizedArguments(args_count, args.data())) {
    std::cerr << "\n" << harness::sweep_usage();
    return 2;
  }

  const harness::run_settings settings{options.leader_cpu, options.follower_cpu,
                                       options.stall_timeout};
  for (const auto& [key, value] : harness::host_facts()) benchmark::AddCustomContext(key, value);
  benchmark::AddCustomContext("pipebench_cpus", std::to_string(settings.leader_cpu) + "," +
                                                    std::to_string(settings.follower_cpu));

  for (workload w : {workload::throughput, workload::latency}) {
    if (!selected(options.workloads, harness::name_of(w))) continue;
    for (const auto& transport : harness::transports()) {
      if (!selected(options.transports, transport.id)) continue;
      for (std::size_t size : options.sizes) {
        const std::string name = std::string(harness::name_of(w)) + "/" +
                                 std::string(transport.id) + "/bytes:" + std::to_string(size);
        benchmark::RegisterBenchmark(name.c_str(),
                                     [w, &transport, size, settings](benchmark::State& state) {
                                       run_one(state, w, transport, size, settings);
                                     })
            ->UseManualTime()
            ->Unit(benchmark::kMicrosecond);
      }
    }
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
