// Runs the processes of a benchmark, each a real process, supervised so that a run never hangs:
// two sides of a pair (run_pair), or a hub and W workers (run_fan), both made of run_group.
//
// The calling process is the controller. It forks every member of the group, each of which
// opens its side of the transport, gets ready (allocates and prefaults its buffers), says so,
// and waits for "go"; only then does the timed part start. The controller sleeps in poll() and
// watches: a child that dies, reports an error, or a group that stops making progress ends the
// run with a clear message and every child killed and reaped. Children die with the controller
// (PR_SET_PDEATHSIG).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "baselines/channel.hpp"
#include "baselines/fan.hpp"
#include "host_load.hpp"
#include "latency_stats.hpp"
#include "pipes/fd.hpp"
#include "sequence_digest.hpp"

namespace harness {

// What one side reports to the controller when its part is done. Trivially copyable: it crosses
// a socket as raw bytes.
struct role_report {
  bool ok = false;
  double elapsed_s = 0;  // the role's timed phase, by its own steady clock
  double cpu_s = 0;      // user + system CPU time of this process during the timed phase
  std::uint64_t messages_checked = 0;
  std::uint64_t bytes_checked = 0;
  latency_summary latency;
  // fanout: the sequence numbers this worker checked (the controller adds up every worker's).
  sequence_digest sequences;
  // fanin: the slowest worker's share, as the hub saw the workers' streams end (workloads.hpp).
  double slowest_worker_share = 0;
  char error[512] = {};

  void set_error(std::string_view what) noexcept;
};

// Given to a role in its child process.
class role_context {
 public:
  role_context(const pipes::fd& control, std::span<const pipes::fd> peer_links,
               std::atomic<std::uint64_t>& progress) noexcept
      : control_(control), peer_links_(peer_links), progress_(progress) {}

  // Call once, when ready for the clock to start; returns when the controller says go.
  void ready();
  // Messages done so far: the controller's evidence that the run is alive, and where it stood.
  void progress(std::uint64_t done) noexcept { progress_.store(done, std::memory_order_relaxed); }
  // A stream socket to the other role, outside the transport (for acknowledgements); in a group,
  // a member's link to the hub (the hub's first link).
  const pipes::fd& peer_link() const noexcept { return peer_links_.front(); }
  // The hub's links, one to each other member of its group, in the members' order.
  std::span<const pipes::fd> peer_links() const noexcept { return peer_links_; }

 private:
  const pipes::fd& control_;
  std::span<const pipes::fd> peer_links_;
  std::atomic<std::uint64_t>& progress_;
};

// A role's body. Runs in a child; throws on any failure (the message becomes the run's error).
using role_function = std::function<role_report(baselines::Channel&, role_context&)>;

struct role {
  std::string name;  // for messages: "sender", "receiver", "pinger", "echoer"
  role_function body;
  int cpu = -1;  // pinned to this CPU, or not pinned when negative
};

struct pair_outcome {
  role_report leader;
  role_report follower;
  std::string error;   // empty when both roles succeeded
  host_activity host;  // the rest of the machine between "go" and the last report

  bool ok() const noexcept { return error.empty(); }
};

// Runs `leader` and `follower` on their sides of `transport` in two new processes and returns
// their reports. A child that dies or fails, or a pair that makes no progress for
// `stall_timeout`, ends the run with `error` set and both children killed and reaped.
//
// `before_go`, when given, runs once both sides are ready, just before the clock starts: several
// pairs started together wait there for each other (pair_group.hpp). When it returns false the
// run ends unstarted, with `error` saying so.
pair_outcome run_pair(std::unique_ptr<baselines::Transport> transport, const role& leader,
                      const role& follower,
                      std::chrono::milliseconds stall_timeout = std::chrono::seconds(5),
                      const std::function<bool()>& before_go = {});

// One process of a group (run_group).
struct group_member {
  std::string name;  // for messages: "sender", "hub", "worker 2"
  // Runs in the member's child: opens its side of the transport, destroys the child's copy of
  // the rest (so that a peer's death is seen as EOF or EPIPE), then plays its part. Throws on
  // any failure (the message becomes the run's error).
  std::function<role_report(role_context&)> run;
  int cpu = -1;  // pinned to this CPU, or not pinned when negative
};

struct group_outcome {
  std::vector<role_report> reports;  // one per member, in the members' order
  std::string error;                 // empty when every member succeeded
  host_activity host;                // the rest of the machine between "go" and the last report

  bool ok() const noexcept { return error.empty(); }
};

// Runs every member in a new process of its own, as run_pair says. Member 0 is the hub of the
// group's peer links: it has one to each other member (role_context::peer_links()), each other
// member one to it (role_context::peer_link()). A member that dies or fails, or a group in
// which no member makes progress for `stall_timeout`, ends the run with `error` set (the cause
// first, when one member's failure made others fail) and every child killed and reaped.
// `release_shared` runs in the controller once every member is ready (has opened its side):
// it destroys the controller's copy of the transport. `before_go` is as in run_pair.
group_outcome run_group(std::span<const group_member> members,
                        std::chrono::milliseconds stall_timeout,
                        const std::function<void()>& release_shared,
                        const std::function<bool()>& before_go = {});

// A hub's body: the fanout producer or the fanin consumer (baselines/fan.hpp).
using hub_function = std::function<role_report(baselines::HubChannel&, role_context&)>;

struct hub_role {
  std::string name;
  hub_function body;
  int cpu = -1;
};

// Runs `hub` and `workers` workers over `transport`, each in a process of its own; `worker(i)`
// is worker i's role. The outcome's reports are the hub's, then worker 0's, 1's, ...
group_outcome run_fan(std::unique_ptr<baselines::FanTransport> transport, const hub_role& hub,
                      std::size_t workers, const std::function<role(std::size_t)>& worker,
                      std::chrono::milliseconds stall_timeout = std::chrono::seconds(5));

// How long a side may take to get ready (before "go") before it counts as stalled, whatever the
// stall timeout: getting ready reports no progress and may take many seconds (run_pair).
inline constexpr std::chrono::milliseconds get_ready_limit = std::chrono::seconds(60);

// CPU time (user + system) used so far by the calling process, in seconds.
double process_cpu_seconds() noexcept;

}  // namespace harness
