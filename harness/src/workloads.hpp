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
//   fanout: a hub hands `count` messages to W workers over a worker-pool transport
//     (baselines/fan.hpp), each message whole to one worker, then ends every worker's stream.
//     A worker learns which message it has from its stamp, checks every byte, and at the end
//     acknowledges its count to the hub over its peer link; the hub's clock stops when every
//     worker has. Each worker also reports a digest of the sequence numbers it checked
//     (sequence_digest.hpp): the controller adds them up and fails the run unless every message
//     was checked exactly once. A worker's messages must arrive in the order they were sent.
//   fanin: worker w of W sends messages w, w + W, w + 2W, ... below `count`, then an empty
//     message; the hub takes them as they come, checks every byte and each worker's order, and
//     stops its clock when all W have ended.
//   Both report `slowest_worker_share`: each worker's throughput is the bytes it moved (fanout:
//     checked; fanin: sent, as the hub checked them) over the time from "go" until its stream
//     was done (fanout: until the worker had its end; fanin: until the hub had its last
//     message); the share is the slowest worker's throughput over the workers' mean (1: all
//     alike; in fanout, a worker the hub found busy more often got fewer messages). Workers with
//     no messages to send (fewer messages than workers) are left out of it.
// All check every byte received (payload_pool::check) and fail the run on any mismatch. Before
// the clock starts, one warm-up message (or round trip) goes through the transport, so that
// everything a side allocates on first use (a staging ring, a loan buffer, a read-ahead buffer)
// exists and is touched before the timed phase. fanin sends one from each worker; fanout none:
// on a shared queue the hub cannot choose which worker takes a message, so no worker could know
// how many warm-ups to wait for (every buffer is still allocated and touched before "ready").
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

class remote_peer;

enum class workload { throughput, latency, openloop, pairs, fanout, fanin };

std::string_view name_of(workload w) noexcept;

// "<workload>/<transport>/bytes:<N>", with "/load:<scale>" for openloop (the offered load, a
// percentage of the peak), "/pairs:<scale>" for pairs and "/workers:<scale>" for fanout and
// fanin: a benchmark's name in the results (DESIGN.md).
std::string benchmark_name(workload w, std::string_view transport, std::size_t size, int scale = 0);

// Whether a workload runs a worker pool (the transport's make_fan).
constexpr bool is_fan(workload w) noexcept { return w == workload::fanout || w == workload::fanin; }

// A member of a worker pool, for the test seam run_settings::inject_death.
enum class pool_member { none, hub, worker };

struct run_settings {
  int leader_cpu = -1;  // -1: not pinned
  int follower_cpu = -1;
  std::chrono::milliseconds stall_timeout = std::chrono::seconds(5);
  // openloop: the time between two messages' intended send times (the offered load's inverse).
  std::chrono::nanoseconds send_interval{0};
  // pairs: how many pairs run at once.
  int pairs = 1;
  // fanout, fanin: how many workers. The hub is pinned to leader_cpu, every worker to
  // follower_cpu (as every pair's follower is).
  int workers = 1;
  // Test seam: the receiving side treats the middle message as corrupted (one byte flipped in a
  // copy before the check), so the failure path of a real run can be exercised on demand.
  bool inject_corruption = false;
  // Test seam: the receiving side sleeps this long once, before it receives the middle message,
  // as a receiver descheduled at a bad moment would (zero: never).
  std::chrono::milliseconds inject_stall{0};
  // Test seam (fanout, fanin): this member of the pool kills itself (SIGKILL) at the middle
  // message, as a process that crashes would: the hub before it sends (fanout) or receives
  // (fanin) it, or the worker that receives (fanout) or would send (fanin) it.
  pool_member inject_death = pool_member::none;
  // --remote-peer: the follower runs on another host, in pipebench-peer, reached through this
  // connection (remote_peer.hpp); null when both roles run here.
  remote_peer* remote = nullptr;
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
  // fanout, fanin: the slowest worker's share (see the top of this file).
  double slowest_worker_share = 0;
  double cpu_seconds = 0;  // every process of the run, user + system
  // latency: round trips; openloop: one-way, from each message's intended send time to its check.
  latency_summary latency;
  std::string description;                   // the transport's configuration as made for this run
  std::optional<std::size_t> pipe_capacity;  // bytes, for pipe transports
  host_activity host;                        // the rest of the machine over the timed phase

  bool ok() const noexcept { return error.empty(); }
  // CPU seconds per GiB moved (both directions for latency).
  double cpu_seconds_per_gib() const noexcept;
};

// The leader's and the follower's roles of workload `w` (throughput, latency, openloop; pairs
// runs throughput's), moving `count` messages of `pool` with `settings`' CPUs and test seams:
// what run_workload forks here, and what pipebench-peer runs for a follower on another host.
// Each role refers to `pool`, which must outlive it.
role leader_role(workload w, payload_pool& pool, std::uint64_t count, const run_settings& settings);
role follower_role(workload w, const payload_pool& pool, std::uint64_t count,
                   const run_settings& settings);

// Runs `count` messages of `pool.message_size()` bytes from `pool` over `transport` (pairs:
// `count` in each pair; fanout and fanin: `count` in all, over the transport's make_fan).
run_result run_workload(workload w, const transport_entry& transport, payload_pool& pool,
                        std::uint64_t count, const run_settings& settings);

}  // namespace harness
