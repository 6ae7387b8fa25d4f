// The two workloads of DESIGN.md, for any transport:
//   throughput: the leader streams `count` messages one way; the follower checks each one and
//     acknowledges the last over the peer link; the clock stops on that acknowledgement.
//   latency: the leader sends a message, the follower checks it and echoes it back, the leader
//     checks the echo; every round trip is timed.
// Both check every byte received (payload_pool::check) and fail the run on any mismatch. Before
// the clock starts, one warm-up message (or round trip) goes through the transport, so that
// everything a side allocates on first use (a staging ring, a loan buffer, a read-ahead buffer)
// exists and is touched before the timed phase.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "latency_stats.hpp"
#include "payload_pool.hpp"
#include "peer_process.hpp"
#include "transport_registry.hpp"

namespace harness {

enum class workload { throughput, latency };

std::string_view name_of(workload w) noexcept;

// "<workload>/<transport>/bytes:<N>": a benchmark's name in the results (DESIGN.md).
std::string benchmark_name(workload w, std::string_view transport, std::size_t size);

struct run_settings {
  int leader_cpu = -1;  // -1: not pinned
  int follower_cpu = -1;
  std::chrono::milliseconds stall_timeout = std::chrono::seconds(5);
  // Test seam: the receiving side treats the middle message as corrupted (one byte flipped in a
  // copy before the check), so the failure path of a real run can be exercised on demand.
  bool inject_corruption = false;
};

struct run_result {
  std::string error;                // empty on success
  bool skipped = false;             // the transport cannot carry this size; `error` says why
  double seconds = 0;               // the timed phase
  std::uint64_t messages = 0;       // messages the receiving side checked (each direction)
  std::uint64_t bytes_checked = 0;  // bytes checked, both directions
  double cpu_seconds = 0;           // both processes, user + system
  latency_summary latency;          // latency workload only
  std::string description;          // the transport's configuration as made for this run
  std::optional<std::size_t> pipe_capacity;  // bytes, for pipe transports
  host_activity host;                        // the rest of the machine over the timed phase

  bool ok() const noexcept { return error.empty(); }
  // CPU seconds per GiB moved (both directions for latency).
  double cpu_seconds_per_gib() const noexcept;
};

// Runs `count` messages of `pool.message_size()` bytes from `pool` over `transport`.
run_result run_workload(workload w, const transport_entry& transport, payload_pool& pool,
                        std::uint64_t count, const run_settings& settings);

}  // namespace harness
