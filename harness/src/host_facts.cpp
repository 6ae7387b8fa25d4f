#include "host_facts.hpp"

#include <sys/resource.h>
#include <sys/utsname.h>

#include <algorithm>
#include <fstream>
#include <thread>

#ifdef __clang__
#define PIPEBENCH_COMPILER "clang " __clang_version__
#else
#define PIPEBENCH_COMPILER "g++ " __VERSION__
#endif
#ifndef PIPEBENCH_BUILD_TYPE
#define PIPEBENCH_BUILD_TYPE "unknown"
#endif

namespace harness {
namespace {

std::string first_line(const char* path) {
  std::ifstream in(path);
  std::string line;
  if (!std::getline(in, line)) return "unknown";
  return line;
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(' ', colon + 1));
    }
  }
  return "unknown";
}

std::string kernel() {
  utsname u{};
  if (::uname(&u) != 0) return "unknown";
  return std::string(u.sysname) + " " + u.release + " " + u.machine;
}

std::string limit(int resource) {
  rlimit l{};
  if (::getrlimit(resource, &l) != 0) return "unknown";
  auto text = [](rlim_t v) {
    return v == RLIM_INFINITY ? std::string("unlimited") : std::to_string(v);
  };
  return text(l.rlim_cur) + " (hard " + text(l.rlim_max) + ")";
}

// "32768K" -> 33554432; 0 for anything else.
std::size_t parse_cache_size(const std::string& text) {
  std::size_t value = 0;
  std::size_t i = 0;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i)
    value = value * 10 + (text[i] - '0');
  const std::string unit = text.substr(i);
  if (unit == "K") return value << 10;
  if (unit == "M") return value << 20;
  if (unit == "G") return value << 30;
  return unit.empty() ? value : 0;
}

// "yes" when this process holds CAP_SYS_RESOURCE (capability 24), which lets it size a pipe
// above pipe-max-size without touching the system setting; "no" otherwise; "unknown" without
// /proc/self/status.
std::string has_cap_sys_resource() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("CapEff:", 0) != 0) continue;
    const unsigned long long effective = std::stoull(line.substr(7), nullptr, 16);
    return (effective >> 24) & 1 ? "yes" : "no";
  }
  return "unknown";
}

}  // namespace

std::size_t last_level_cache_bytes() {
  std::size_t largest = 0;
  for (int index = 0; index < 16; ++index) {
    const std::string path =
        "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(index) + "/size";
    std::ifstream in(path);
    std::string size;
    if (!(in >> size)) continue;
    largest = std::max(largest, parse_cache_size(size));
  }
  return largest;
}

std::vector<std::pair<std::string, std::string>> host_facts() {
  const std::size_t llc = last_level_cache_bytes();
  return {
      {"host_kernel", kernel()},
      {"host_cpu_model", cpu_model()},
      {"host_cores", std::to_string(std::thread::hardware_concurrency())},
      {"host_pipe_max_size", first_line("/proc/sys/fs/pipe-max-size")},
      {"host_pipe_user_pages_soft", first_line("/proc/sys/fs/pipe-user-pages-soft")},
      {"cap_sys_resource", has_cap_sys_resource()},
      {"host_mqueue_msg_max", first_line("/proc/sys/fs/mqueue/msg_max")},
      {"host_mqueue_msgsize_max", first_line("/proc/sys/fs/mqueue/msgsize_max")},
      {"host_mqueue_queues_max", first_line("/proc/sys/fs/mqueue/queues_max")},
      {"host_rlimit_msgqueue", limit(RLIMIT_MSGQUEUE)},
      {"host_thp_enabled", first_line("/sys/kernel/mm/transparent_hugepage/enabled")},
      {"host_thp_defrag", first_line("/sys/kernel/mm/transparent_hugepage/defrag")},
      {"host_llc_bytes", llc == 0 ? std::string("unknown") : std::to_string(llc)},
      {"compiler", PIPEBENCH_COMPILER},
      {"build_type", PIPEBENCH_BUILD_TYPE},
  };
}

}  // namespace harness
