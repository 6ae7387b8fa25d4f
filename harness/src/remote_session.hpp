// pipebench-peer's side of a run on two hosts: one controller's session.
//
// For each run the controller asks for, the peer makes the transport's follower side (a listener
// on the address the controller reached it at, an ephemeral port, told to the controller), builds
// the controller's payload pool from its shape, and runs the pair here as run_pair runs any pair:
// the follower for real (follower_role: the same body and the same check of every byte as on one
// host) and, in the leader's place, a stand-in that relays the follower's acknowledgement to the
// controller and watches the control connection. When both are ready it tells the controller,
// waits for "go", and at the end sends the follower's role_report (or the failure). The
// controller's side mirrors it (remote_peer.hpp). A controller that disconnects ends its session:
// a run in progress is stopped, its processes killed, and the peer waits for the next controller.
#pragma once

#include <cstddef>
#include <string>

#include "pipes/fd.hpp"

namespace harness {

struct peer_settings {
  int follower_cpu = -1;  // -1: not pinned
  // Payload pools kept between runs (one per shape), so that interleaved repetitions do not
  // rebuild a pool of up to a GiB each time; beyond this the cache starts over.
  std::size_t pool_cache_bytes = std::size_t{2} << 30;
};

// Serves the controller on `control` (an accepted TCP connection) until it disconnects. Returns
// normally when it does between runs; throws std::exception with the reason on a protocol or I/O
// error. `log` receives one line per refused or failed run.
void serve_controller(const pipes::fd& control, const peer_settings& settings,
                      void (*log)(const std::string& line));

}  // namespace harness
