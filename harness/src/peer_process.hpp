// Runs the two sides of a benchmark in two real processes, supervised so that a run never hangs.
//
// The calling process is the controller. It forks a leader and a follower, each of which opens
// its side of the transport, gets ready (allocates and prefaults its buffers), says so, and
// waits for "go"; only then does the timed part start. The controller sleeps in poll() and
// watches: a child that dies, reports an error, or stops making progress ends the run with a
// clear message and both children killed. Children die with the controller (PR_SET_PDEATHSIG).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "baselines/channel.hpp"
#include "host_load.hpp"
#include "latency_stats.hpp"
#include "pipes/fd.hpp"

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
  char error[512] = {};

  void set_error(std::string_view what) noexcept;
};

// Given to a role in its child process.
class role_context {
 public:
  role_context(const pipes::fd& control, const pipes::fd& peer_link,
               std::atomic<std::uint64_t>& progress) noexcept
      : control_(control), peer_link_(peer_link), progress_(progress) {}

  // Call once, when ready for the clock to start; returns when the controller says go.
  void ready();
  // Messages done so far: the controller's evidence that the run is alive, and where it stood.
  void progress(std::uint64_t done) noexcept { progress_.store(done, std::memory_order_relaxed); }
  // A stream socket to the other role, outside the transport (for acknowledgements).
  const pipes::fd& peer_link() const noexcept { return peer_link_; }

 private:
  const pipes::fd& control_;
  const pipes::fd& peer_link_;
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

// CPU time (user + system) used so far by the calling process, in seconds.
double process_cpu_seconds() noexcept;

}  // namespace harness
