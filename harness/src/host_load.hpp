// What the rest of the machine was doing while a benchmark ran: CPU steal (time the hypervisor
// gave this guest's CPUs to someone else) and the load average. Neither is ours to fix; both are
// recorded per repetition so that a disturbed repetition can be seen in the results.
#pragma once

#include <cstdint>

namespace harness {

// Cumulative CPU time of all CPUs, in clock ticks, from the first line of /proc/stat.
struct cpu_ticks {
  std::uint64_t total = 0;
  std::uint64_t steal = 0;
};

// Reads /proc/stat now; zeros when it cannot be read.
cpu_ticks read_cpu_ticks() noexcept;

// Percent of all CPU time between `before` and `after` that was stolen (0 when nothing elapsed).
double steal_percent(const cpu_ticks& before, const cpu_ticks& after) noexcept;

// The 1-minute load average from /proc/loadavg, or -1 when it cannot be read.
double load_average_1m() noexcept;

// The machine over one timed phase.
struct host_activity {
  double steal_pct = 0;    // steal_percent over the phase
  double loadavg_1m = -1;  // load_average_1m at its end
};

// Call at the start of a timed phase; finish() at its end.
class host_activity_meter {
 public:
  host_activity_meter() noexcept : start_(read_cpu_ticks()) {}
  host_activity finish() const noexcept {
    return {steal_percent(start_, read_cpu_ticks()), load_average_1m()};
  }

 private:
  cpu_ticks start_;
};

}  // namespace harness
