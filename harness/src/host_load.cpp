#include "host_load.hpp"

#include <fstream>
#include <sstream>
#include <string>

namespace harness {

cpu_ticks read_cpu_ticks() noexcept {
  try {
    std::ifstream in("/proc/stat");
    std::string line;
    if (!std::getline(in, line) || line.rfind("cpu ", 0) != 0) return {};
    // cpu  user nice system idle iowait irq softirq steal guest guest_nice; guest time is
    // already counted in user and nice, so it is left out of the total.
    std::istringstream fields(line.substr(4));
    std::uint64_t value[8] = {};
    for (auto& v : value) fields >> v;
    cpu_ticks ticks;
    for (auto v : value) ticks.total += v;
    ticks.steal = value[7];
    return ticks;
  } catch (...) {
    return {};
  }
}

double steal_percent(const cpu_ticks& before, const cpu_ticks& after) noexcept {
  if (after.total <= before.total || after.steal < before.steal) return 0;
  return 100.0 * static_cast<double>(after.steal - before.steal) /
         static_cast<double>(after.total - before.total);
}

double load_average_1m() noexcept {
  try {
    std::ifstream in("/proc/loadavg");
    double load = -1;
    if (in >> load) return load;
  } catch (...) {
  }
  return -1;
}

}  // namespace harness
