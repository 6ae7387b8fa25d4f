// The workloads of DESIGN.md, for any transport:
//   throughput: the leader streams `count` messages one way; the follower checks each one and
//     acknowledges the last over the peer link; the clock stops on that acknowledgement.
//   latency: the leader sends a message, the follower checks it and echoes it back, the leader
//     checks the echo; every round trip is timed.
//   openloop: the leader sends message i at its intended time, start + i x send_interval,
//     whether or not the follower has kept up; the follower checks each one and records how long
//     after its intended time it had it. A closed loop (latency) waits for each answer before
//     sending again, so a stalled receiver also stalls the sender and the queue that a steady
//     stream would have built never forms ("coordinated omission"); here it forms, and every
//     message that waited in it shows the wait in the percentiles.
//   pairs: the throughput workload in several independent pairs at once, started together
//     (pair_group.hpp); what they move together, and how evenly.
// All check every byte received (payload_pool::check) and fail the run on any mismatch. Before
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

enum class workload { throughput, latency, openloop, pairs };

std::string_view name_of(workload w) noexcept;

// "<workload>/<transport>/bytes:<N>", with "/load:<scale>" for openloop (the offered load, a
// percentage of the peak) and "/pairs:<scale>" for pairs: a benchmark's name in the results
// (DESIGN.md).
std::string benchmark_name(workload w, std::string_view transport, std::size_t size, int scale = 0);

struct run_settings {
  int leader_cpu = -1;  // -1: not pinned
  int follower_cpu = -1;
  std::chrono::milliseconds stall_timeout = std::chrono::seconds(5);
  // openloop: the time between two messages' intended send times (the offered load's inverse).
  std::chrono::nanoseconds send_interval{0};
  // pairs: how many pairs run at once.
  int pairs = 1;
  // Test seam: the receiving side treats the middle message as corrupted (one byte flipped in a
  // copy before the check), so the failure path of a real run can be exercised on demand.
  bool inject_corruption = false;
  // Test seam: the receiving side sleeps this long once, before it receives the middle message,
  // as a receiver descheduled at a bad moment would (zero: never).
  std::chrono::milliseconds inject_stall{0};
};

struct run_result {
  std::string error;     // empty on success
  bool skipped = false;  // the transport cannot carry this size; `error` says why
  double seconds = 0;    // the timed phase (openloop: from the first intended send; pairs: the
                         // slowest pair's)
  std::uint64_t messages = 0;       // messages the receiving side checked (each direction; pairs:
                                    // all pairs')
  std::uint64_t bytes_checked = 0;  // bytes checked, both directions (pairs: all pairs')
  // pairs: the slowest pair's throughput as a share of the pairs' mean (1: all alike).
  double slowest_pair_share = 0;
  double cpu_seconds = 0;  // both processes, user + system
  // latency: round trips; openloop: one-way, from each message's intended send time to its check.
  latency_summary latency;
  std::string description;                   // the transport's configuration as made for this run
  std::optional<std::size_t> pipe_capacity;  // bytes, for pipe transports
  host_activity host;                        // the rest of the machine over the timed phase

  bool ok() const noexcept { return error.empty(); }
  // CPU seconds per GiB moved (both directions for latency).
  double cpu_seconds_per_gib() const noexcept;
};

// Runs `count` messages of `pool.message_size()` bytes from `pool` over `transport` (pairs:
// `count` in each pair).
run_result run_workload(workload w, const transport_entry& transport, payload_pool& pool,
                        std::uint64_t count, const run_settings& settings);

}  // namespace harness
