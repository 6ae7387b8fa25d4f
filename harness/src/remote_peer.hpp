// pipebench's side of a run on two hosts (--remote-peer): the follower runs on another host, in
// pipebench-peer, and this host keeps the leader and the clock.
//
// One control connection (remote_wire.hpp) lasts the whole sweep. For each run the controller
// asks the peer for it, learns the data port the peer's follower listens on, makes the leader's
// side of the transport connected there, and runs the pair with run_pair as on one host: the
// leader forked here, and in the follower's place a stand-in that waits for the peer's follower
// to be ready, passes on "go", relays the follower's acknowledgement to the leader and returns
// the follower's own report, received at the end. Supervision is run_pair's: the leader cannot
// progress unless the remote follower does (both workloads are closed loops), so a stalled peer
// stalls the leader and fails the run within the stall timeout, and a peer that dies closes the
// control connection, which fails the stand-in at once. After a failed run the connection is
// dropped (the peer ends that session and stops its processes) and made again for the next run.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "baselines/tcp_endpoint.hpp"
#include "payload_pool.hpp"
#include "peer_process.hpp"
#include "pipes/fd.hpp"
#include "remote_wire.hpp"
#include "transport_registry.hpp"
#include "workloads.hpp"

namespace harness {

struct remote_run {
  pair_outcome outcome;     // the leader's report, and the remote follower's
  std::string description;  // both sides' transport, for the result row's label
  bool skipped = false;     // cannot run remotely (outcome.error says why), not a failure
};

class remote_peer {
 public:
  // Connects to pipebench-peer at `address` ("HOST:PORT", or "HOST" for default_peer_port) and
  // reads its host facts. Throws std::exception with the reason when it cannot.
  explicit remote_peer(std::string_view address);

  // The peer's numeric address and control port.
  const baselines::tcp_endpoint& endpoint() const noexcept { return endpoint_; }
  // "pipebench-peer at 10.0.0.2:7878", for messages and labels.
  std::string where() const;
  // The peer's host facts (host_facts.hpp), as it sent them when first connected.
  const host_fact_list& host_facts() const noexcept { return facts_; }

  // Runs `count` messages of `pool` in workload `w` (throughput or latency) over `transport`
  // (one that reaches_other_hosts), `leader` here and the follower on the peer.
  remote_run run(workload w, const transport_entry& transport, const payload_pool& pool,
                 std::uint64_t count, const role& leader, const run_settings& settings);

 private:
  // (Re)connects and reads the peer's hello; keeps the facts of the first connection.
  void connect(std::chrono::milliseconds timeout);

  baselines::tcp_endpoint endpoint_;
  pipes::fd control_;
  host_fact_list facts_;
};

}  // namespace harness
