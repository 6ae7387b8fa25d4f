// The transports the two-process tests run: every registry entry except in-process memcpy and
// the capacity rows on request.
#pragma once

#include <vector>

#include "transport_registry.hpp"

namespace harness_test {

inline std::vector<const harness::transport_entry*> ipc_transports() {
  std::vector<const harness::transport_entry*> out;
  for (const auto& t : harness::transports()) {
    // The capacity rows on request are tuned_pipe's code with another pipe size: the smoke
    // test runs two of them, pipes' capacity tests cover the sizing.
    if (!t.in_process() && !t.on_request) out.push_back(&t);
  }
  return out;
}

}  // namespace harness_test
