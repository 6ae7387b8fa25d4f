#include "transport_registry.hpp"

#include <algorithm>
#include <array>

#include "baselines/transports.hpp"

namespace harness {
namespace {

const std::array registry{
    transport_entry{"memcpy", "the ceiling: one in-process copy, no IPC", nullptr},
    transport_entry{"naive_pipe", "pipe() at default size, Python framing",
                    &baselines::make_naive_pipe},
    transport_entry{"socketpair", "AF_UNIX stream pair, Python framing",
                    &baselines::make_socketpair},
};

}  // namespace

std::span<const transport_entry> transports() noexcept { return registry; }

const transport_entry* find_transport(std::string_view id) noexcept {
  const auto it = std::find_if(registry.begin(), registry.end(),
                               [id](const transport_entry& e) { return e.id == id; });
  return it == registry.end() ? nullptr : &*it;
}

}  // namespace harness
