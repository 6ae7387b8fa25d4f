#include "sweep_options.hpp"

#include <sched.h>

#include <charconv>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <tuple>

namespace harness {
namespace {

std::vector<std::string> split(std::string_view text) {
  std::vector<std::string> parts;
  while (!text.empty()) {
    const auto comma = text.find(',');
    parts.emplace_back(text.substr(0, comma));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return parts;
}

// "64", "4K", "1M" (binary multiples).
std::size_t parse_size(std::string_view text) {
  std::size_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  std::string_view suffix(end, text.data() + text.size() - end);
  if (ec != std::errc() || suffix.size() > 1) {
    throw std::invalid_argument("bad size: " + std::string(text));
  }
  if (suffix == "K" || suffix == "k") return value << 10;
  if (suffix == "M" || suffix == "m") return value << 20;
  if (suffix == "G" || suffix == "g") return value << 30;
  if (!suffix.empty()) throw std::invalid_argument("bad size suffix: " + std::string(text));
  return value;
}

int parse_int(std::string_view text, std::string_view what) {
  int value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    throw std::invalid_argument("bad " + std::string(what) + ": " + std::string(text));
  }
  return value;
}

// A comma-separated list of integers, each from `low` to `high`; `rule` begins the error.
std::vector<int> parse_int_list(std::string_view text, const std::string& rule, int low, int high) {
  std::vector<int> values;
  for (const auto& item : split(text)) {
    values.push_back(parse_int(item, "number"));
    if (values.back() < low || values.back() > high) {
      throw std::invalid_argument(rule + " from " + std::to_string(low) + " to " +
                                  std::to_string(high) + ": " + item);
    }
  }
  return values;
}

// The first two CPUs this process may run on, or none when there is only one.
std::pair<int, int> default_cpus() {
  cpu_set_t set;
  if (::sched_getaffinity(0, sizeof set, &set) != 0) return {-1, -1};
  std::vector<int> cpus;
  for (int cpu = 0; cpu < CPU_SETSIZE && cpus.size() < 2; ++cpu) {
    if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
  }
  if (cpus.size() < 2) return {-1, -1};
  return {cpus[0], cpus[1]};
}

}  // namespace

std::vector<std::size_t> default_sizes() {
  std::vector<std::size_t> sizes;
  for (std::size_t n = 64; n <= (64u << 20); n *= 4) sizes.push_back(n);
  return sizes;
}

std::vector<std::size_t> quick_sizes() { return {64, 4u << 10, 64u << 10, 1u << 20}; }

std::string sweep_usage() {
  return "pipebench options (Google Benchmark's --benchmark_* options also apply):\n"
         "  --quick                 small sweep: 64 B, 4 KiB, 64 KiB, 1 MiB, short runs\n"
         "  --sizes=64,4K,1M        message sizes (default 64 B to 64 MiB in steps of 4)\n"
         "  --transports=a,b        transport ids (default all; --list shows them)\n"
         "  --workloads=throughput,latency,openloop,pairs,fanout,fanin\n"
         "                          (default throughput,latency; the others only when\n"
         "                          named)\n"
         "  --loads=10,50,90        openloop: offered loads, in percent of each transport's\n"
         "                          peak at that size (default 10,50,90)\n"
         "  --pairs=1,2,4           pairs: how many pairs run at once (default 1,2,4)\n"
         "  --workers=1,2,4         fanout, fanin: how many workers (default 1,2,4)\n"
         "  --cpus=L,F              CPUs for leader and follower (default the first two;\n"
         "                          --cpus=none to leave them unpinned)\n"
         "  --stall-timeout=SEC     fail a run that makes no progress for SEC (default 5)\n"
         "  --list                  list the transports, each with its configuration, and exit\n"
         "  --remote-peer=HOST:PORT run the follower on another host, in pipebench-peer there\n"
         "                          (tcp and zmq_tcp, throughput and latency; port default 7878)\n"
         "  --inject-corruption=R   test seam: the Rth repetition of every benchmark fails\n"
         "                          with a corrupted message (to test failure handling)\n";
}

sweep_options parse_sweep_options(int& argc, char** argv) {
  sweep_options options;
  std::tie(options.leader_cpu, options.follower_cpu) = default_cpus();
  bool sizes_given = false;
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    auto value_of = [&](std::string_view flag) -> std::optional<std::string_view> {
      if (arg.rfind(flag, 0) == 0 && arg.size() > flag.size() && arg[flag.size()] == '=') {
        return arg.substr(flag.size() + 1);
      }
      return std::nullopt;
    };
    if (arg == "--quick") {
      options.quick = true;
    } else if (arg == "--list") {
      options.list = true;
    } else if (auto v = value_of("--sizes")) {
      sizes_given = true;
      for (const auto& s : split(*v)) options.sizes.push_back(parse_size(s));
    } else if (auto v = value_of("--transports")) {
      options.transports = split(*v);
    } else if (auto v = value_of("--workloads")) {
      options.workloads = split(*v);
    } else if (auto v = value_of("--loads")) {
      options.loads = parse_int_list(*v, "--loads takes percentages", 1, 100);
    } else if (auto v = value_of("--pairs")) {
      options.pair_counts = parse_int_list(*v, "--pairs takes pair counts", 1, 64);
    } else if (auto v = value_of("--workers")) {
      options.worker_counts = parse_int_list(*v, "--workers takes worker counts", 1, 64);
    } else if (auto v = value_of("--cpus")) {
      if (*v == "none") {
        options.leader_cpu = options.follower_cpu = -1;
      } else {
        const auto cpus = split(*v);
        if (cpus.size() != 2) throw std::invalid_argument("--cpus takes two CPUs: L,F");
        options.leader_cpu = parse_int(cpus[0], "CPU");
        options.follower_cpu = parse_int(cpus[1], "CPU");
      }
    } else if (auto v = value_of("--inject-corruption")) {
      options.corrupt_repetition = parse_int(*v, "repetition");
      if (options.corrupt_repetition < 1) {
        throw std::invalid_argument("--inject-corruption takes a repetition number from 1");
      }
    } else if (auto v = value_of("--remote-peer")) {
      options.remote_peer = *v;
    } else if (auto v = value_of("--stall-timeout")) {
      options.stall_timeout = std::chrono::seconds(parse_int(*v, "stall timeout"));
    } else {
      argv[kept++] = argv[i];
      continue;
    }
  }
  argc = kept;
  argv[argc] = nullptr;
  if (!sizes_given) options.sizes = options.quick ? quick_sizes() : default_sizes();
  return options;
}

}  // namespace harness
