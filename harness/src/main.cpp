// pipebench: registers <workload>/<transport>/bytes:<N> (openloop: /load:<percent> after it) for
// every selected transport, workload, size and load, and runs them with Google Benchmark.
#include <benchmark/benchmark.h>
#include <signal.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "host_facts.hpp"
#include "payload_pool.hpp"
#include "remote_peer.hpp"
#include "repetition_runner.hpp"
#include "sweep_options.hpp"
#include "transport_registry.hpp"
#include "workloads.hpp"

namespace {

using harness::workload;

constexpr workload all_workloads[] = {workload::throughput, workload::latency, workload::openloop,
                                      workload::pairs,      workload::fanout,  workload::fanin};

bool selected(const std::vector<std::string>& chosen, std::string_view id) {
  return chosen.empty() || std::find(chosen.begin(), chosen.end(), id) != chosen.end();
}

// A transport on request runs only when --transports names it.
bool selected(const std::vector<std::string>& chosen, const harness::transport_entry& t) {
  return t.on_request ? !chosen.empty() && selected(chosen, t.id) : selected(chosen, t.id);
}

// openloop, pairs, fanout and fanin run only when --workloads names them: openloop measures each
// transport's peak first and runs at several loads, the others run each cell at several process
// counts; the default sweep has no time for them.
bool selected(const std::vector<std::string>& chosen, workload w) {
  if (chosen.empty()) return w == workload::throughput || w == workload::latency;
  return selected(chosen, harness::name_of(w));
}

// The scales a benchmark of `w` runs at: the offered loads for openloop (a percentage of the
// peak), the pair counts for pairs, the worker counts for fanout and fanin, none (0) otherwise.
std::vector<int> scales_of(workload w, const harness::sweep_options& options) {
  if (w == workload::openloop) return options.loads;
  if (w == workload::pairs) return options.pair_counts;
  if (harness::is_fan(w)) return options.worker_counts;
  return {0};
}

// The value of a `--name=value` flag in argv, or nullptr.
const char* flag_value(int argc, char** argv, std::string_view name) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg.size() > name.size() && arg.substr(0, name.size()) == name && arg[name.size()] == '=') {
      return argv[i] + name.size() + 1;
    }
  }
  return nullptr;
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
    // Each transport as made for 64 KiB messages: the description its result rows carry.
    for (const auto& t : harness::transports()) {
      std::cout << t.id << "\t" << (t.on_request ? "(on request) " : "")
                << harness::describe(t, 64u << 10) << "\n";
    }
    return 0;
  }
  for (const auto& id : options.transports) {
    if (!harness::find_transport(id)) {
      std::cerr << "pipebench: unknown transport '" << id << "' (--list shows them)\n";
      return 2;
    }
  }
  for (const auto& id : options.workloads) {
    if (std::none_of(std::begin(all_workloads), std::end(all_workloads),
                     [&](workload w) { return harness::name_of(w) == id; })) {
      std::cerr << "pipebench: unknown workload '" << id << "'\n\n" << harness::sweep_usage();
      return 2;
    }
  }

  // Google Benchmark 1.7 takes --benchmark_min_time as a bare number of seconds: here, how
  // long each repetition lasts; the harness calibrates its message count itself
  // (repetition_runner.hpp). Google Benchmark is told a near-zero minimum instead, so that it
  // accepts a repetition's one iteration as it is (its reported time, per message, is far below
  // a second) and never reruns it to predict an iteration count. (Iterations(1) would do the
  // same but appends "/iterations:1" to every benchmark name.)
  const char* min_time_flag = flag_value(argc, argv, "--benchmark_min_time");
  const double min_time = min_time_flag ? std::atof(min_time_flag) : options.quick ? 0.1 : 0.5;
  // Repetitions are the harness's too: each benchmark is registered once per repetition, under
  // the same name (compare.py and the report group rows by name). Google Benchmark 1.7.1's own
  // repetitions cannot survive a failed one: its statistics dereference the first repetition's
  // statistics, which an errored run lacks, and the sweep dies (SIGSEGV in ComputeStats).
  const char* repetitions_flag = flag_value(argc, argv, "--benchmark_repetitions");
  const int repetitions = repetitions_flag ? std::max(1, std::atoi(repetitions_flag)) : 1;
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg.starts_with("--benchmark_min_time=") || arg.starts_with("--benchmark_repetitions=")) {
      continue;
    }
    args.push_back(argv[i]);
  }
  std::string one_iteration = "--benchmark_min_time=1e-12";
  args.push_back(one_iteration.data());
  // Repetitions run in a shuffled order across all benchmarks unless told otherwise, so that
  // drift during a sweep spreads as variance instead of landing on whatever ran at a bad moment.
  std::string interleave = "--benchmark_enable_random_interleaving=true";
  const char* interleaved_flag = flag_value(argc, argv, "--benchmark_enable_random_interleaving");
  if (!interleaved_flag) args.push_back(interleave.data());
  args.push_back(nullptr);
  int args_count = static_cast<int>(args.size()) - 1;
  benchmark::Initialize(&args_count, args.data());
  if (benchmark::ReportUnrecognizedArguments(args_count, args.data())) {
    std::cerr << "\n" << harness::sweep_usage();
    return 2;
  }

  // --remote-peer: the follower runs on another host (remote_peer.hpp); only the transports
  // that reach one, in the workloads of two roles with one clock, run.
  std::unique_ptr<harness::remote_peer> remote;
  if (!options.remote_peer.empty()) {
    for (const auto& id : options.transports) {
      if (!harness::find_transport(id)->reaches_other_hosts) {
        std::cerr << "pipebench: " << id << " cannot reach another host (--remote-peer)\n";
        return 2;
      }
    }
    for (const auto& id : options.workloads) {
      if (id != "throughput" && id != "latency") {
        std::cerr << "pipebench: with --remote-peer only throughput and latency run\n";
        return 2;
      }
    }
    try {
      remote = std::make_unique<harness::remote_peer>(options.remote_peer);
    } catch (const std::exception& e) {
      std::cerr << "pipebench: --remote-peer: " << e.what() << "\n";
      return 2;
    }
  }

  const harness::run_settings settings{.leader_cpu = options.leader_cpu,
                                       .follower_cpu = options.follower_cpu,
                                       .stall_timeout = options.stall_timeout,
                                       .remote = remote.get()};
  for (const auto& [key, value] : harness::host_facts()) benchmark::AddCustomContext(key, value);
  benchmark::AddCustomContext("pipebench_cpus", std::to_string(settings.leader_cpu) + "," +
                                                    std::to_string(settings.follower_cpu));
  benchmark::AddCustomContext("payload_pool_rule", harness::payload_pool::rule());
  if (remote) {
    // Both hosts' facts: this one's (the leader's) above, the follower's host's as peer_<fact>.
    benchmark::AddCustomContext("remote_peer", remote->endpoint().text());
    for (const auto& [key, value] : remote->host_facts()) {
      benchmark::AddCustomContext("peer_" + key, value);
    }
  }
  benchmark::AddCustomContext("repetitions_interleaved",
                              interleaved_flag ? interleaved_flag : "true");
  benchmark::AddCustomContext("repetition_min_time_s", std::to_string(min_time));
  benchmark::AddCustomContext("repetitions", std::to_string(repetitions));

  harness::repetition_runner runner(settings, min_time, options.corrupt_repetition);
  for (workload w : all_workloads) {
    if (!selected(options.workloads, w)) continue;
    for (const auto& transport : harness::transports()) {
      if (!selected(options.transports, transport)) continue;
      if (remote && !transport.reaches_other_hosts) continue;
      // memcpy is one process: there is no second one to pace or to pair.
      const bool paced_or_paired = w == workload::openloop || w == workload::pairs;
      if (paced_or_paired && transport.in_process()) continue;
      if (harness::is_fan(w) && !transport.make_fan) continue;  // no worker-pool form
      for (std::size_t size : options.sizes) {
        for (int scale : scales_of(w, options)) {
          const std::string name = harness::benchmark_name(w, transport.id, size, scale);
          for (int r = 0; r < repetitions; ++r) {
            benchmark::RegisterBenchmark(
                name.c_str(),
                [w, &transport, size, scale, &runner](benchmark::State& state) {
                  runner.run(state, w, transport, size, scale);
                })
                ->UseManualTime()
                ->Unit(benchmark::kMicrosecond);
          }
        }
      }
    }
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
