// Every transport the harness can measure, by its id in benchmark names. Adding a transport is
// one file (its factory) plus one line in transport_registry.cpp; so is giving one a worker-pool
// form (its make_fan).
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "baselines/channel.hpp"
#include "baselines/fan.hpp"

namespace harness {

struct transport_entry {
  std::string_view id;
  // Makes the transport before fork(); nullptr for `memcpy`, which runs in one process.
  std::unique_ptr<baselines::Transport> (*make)(const baselines::TransportParams&);
  // A study run only when --transports names it (the capacity lever: twelve more pipes, each
  // meaningful for large messages only), not by the default sweep.
  bool on_request = false;
  // Can run with its follower on another host (pipebench --remote-peer): honours
  // TransportParams::remote.
  bool reaches_other_hosts = false;
  // Makes the transport as a worker pool, a hub and W workers (fanout, fanin), before fork();
  // nullptr when it has no such form, and then it has no fanout or fanin benchmarks.
  std::unique_ptr<baselines::FanTransport> (*make_fan)(const baselines::FanParams&) = nullptr;

  bool in_process() const noexcept { return make == nullptr; }
};

std::span<const transport_entry> transports() noexcept;

// What `transport` is and how it is configured for messages of `message_size` bytes: the
// transport's own describe() of an instance made now, the text every result row carries.
std::string describe(const transport_entry& transport, std::size_t message_size);

// The entry with this id, or nullptr.
const transport_entry* find_transport(std::string_view id) noexcept;

}  // namespace harness
