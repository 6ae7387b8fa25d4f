// The transports the two-process tests run: every registry entry except in-process memcpy.
#pragma once

#include <vector>

#include "transport_registry.hpp"

namespace harness_test {

inline std::vector<const harness::transport_entry*> ipc_transports() {
  std::vector<const harness::transport_entry*> out;
  for (const auto& t : harness::transports()) {
    if (!t.in_process()) out.push_back(&t);
  }
  return out;
}

}  // namespace harness_test
