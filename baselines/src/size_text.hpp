// A byte count as people write it in a transport's description: "1 MiB", "64 KiB", "100 B".
#pragma once

#include <cstddef>
#include <string>

namespace baselines {

inline std::string size_text(std::size_t bytes) {
  if (bytes >= (1u << 20) && bytes % (1u << 20) == 0) return std::to_string(bytes >> 20) + " MiB";
  if (bytes >= 1024 && bytes % 1024 == 0) return std::to_string(bytes >> 10) + " KiB";
  return std::to_string(bytes) + " B";
}

}  // namespace baselines
