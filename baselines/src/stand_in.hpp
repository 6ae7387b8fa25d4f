// In a run on two hosts (TransportParams::remote), what open() returns for the role that runs on
// the other host: the harness's stand-in for that side here (harness/src/remote_session.hpp)
// relays its acknowledgements and report but never touches the transport. It holds `token` (that
// role's lifeline end, for a transport that watches one) for as long as it runs, so that this
// host's side sees the stand-in's end as its peer's: the stand-in ends when the other host's side
// has ended or gone.
#pragma once

#include <memory>
#include <stdexcept>

#include "baselines/channel.hpp"
#include "peer_lifeline.hpp"

namespace baselines {

class stand_in_channel final : public Channel {
 public:
  explicit stand_in_channel(lifeline token = {}) noexcept : token_(std::move(token)) {}

  void send(std::span<const std::byte>) override { refuse(); }
  std::span<const std::byte> receive(std::span<std::byte>) override { refuse(); }

 private:
  [[noreturn]] static void refuse() {
    throw std::logic_error("this role runs on another host: its stand-in moves no messages");
  }

  lifeline token_;
};

}  // namespace baselines
