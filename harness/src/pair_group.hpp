// Several independent pairs at once, started together: what the `pairs` workload measures.
//
// Each pair gets its own sub-controller, a process forked from the caller that makes the pair's
// transport and runs run_pair() exactly as a pair alone runs (so each pair's two processes are
// supervised as ever, and no pair holds another's descriptors). A sub-controller says when its
// pair is ready and waits for the caller's "go"; the caller sends it to all pairs at once, so
// their timed phases overlap, then collects every pair's reports. A pair that fails or a
// sub-controller that dies ends the whole group, every process killed.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "baselines/channel.hpp"
#include "host_load.hpp"
#include "peer_process.hpp"

namespace harness {

struct pair_group_outcome {
  std::vector<pair_outcome> pairs;  // one per pair, in order, once the group has run
  std::string error;                // empty when every pair succeeded; else names the pair
  host_activity host;               // the rest of the machine between "go" and the last report

  bool ok() const noexcept { return error.empty(); }
};

// Runs `count` pairs of `leader` and `follower`, each over a transport `make_transport` makes
// in that pair's sub-controller.
pair_group_outcome run_pair_group(
    std::size_t count, const std::function<std::unique_ptr<baselines::Transport>()>& make_transport,
    const role& leader, const role& follower, std::chrono::milliseconds stall_timeout);

}  // namespace harness
