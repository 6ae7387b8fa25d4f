#include "transport_registry.hpp"

#include <algorithm>
#include <array>

#include "baselines/transports.hpp"

namespace harness {
namespace {

// The capacity lever (issue 16): tuned_pipe and its loan with the pipe asked at one size.
template <std::size_t Capacity, bool Loan>
std::unique_ptr<baselines::Transport> at_capacity(const baselines::TransportParams& p) {
  return baselines::make_tuned_pipe_at_capacity(p, Capacity, Loan);
}
constexpr std::size_t KiB = 1024;
constexpr std::size_t MiB = 1024 * KiB;

const std::array registry{
    transport_entry{"memcpy", nullptr},
    transport_entry{"naive_pipe", &baselines::make_naive_pipe},
    transport_entry{"tuned_pipe", &baselines::make_tuned_pipe},
    // The same code as tuned_pipe under a second name: the gap between the two, measured
    // interleaved in one run, is that run's noise floor.
    transport_entry{"control_twin", &baselines::make_tuned_pipe},
    transport_entry{"tuned_pipe_loan", &baselines::make_tuned_pipe_loan},
    transport_entry{"tuned_pipe_built", &baselines::make_tuned_pipe_built},
    transport_entry{"tuned_pipe_batch", &baselines::make_tuned_pipe_batch},
    transport_entry{"tuned_pipe_spin", &baselines::make_tuned_pipe_spin},
    transport_entry{"pipe_levers_off", &baselines::make_pipe_levers_off},
    transport_entry{"pipe_bigbuf", &baselines::make_pipe_bigbuf},
    transport_entry{"pipe_writev", &baselines::make_pipe_writev},
    transport_entry{"pipe_readahead", &baselines::make_pipe_readahead},
    transport_entry{"pipe_vmsplice", &baselines::make_pipe_vmsplice},
    transport_entry{"socketpair", &baselines::make_socketpair},
    transport_entry{"boost_mq", &baselines::make_boost_mq},
    transport_entry{"posix_mq", &baselines::make_posix_mq},
    transport_entry{"shm_ring", &baselines::make_shm_ring},
    transport_entry{"shm_ring_inplace", &baselines::make_shm_ring_inplace},
    transport_entry{"cma", &baselines::make_cma},
    transport_entry{"cma_push", &baselines::make_cma_push},
    transport_entry{"memfd", &baselines::make_memfd},
    transport_entry{"memfd_sealed", &baselines::make_memfd_sealed},
    transport_entry{"tcp", &baselines::make_tcp},
    transport_entry{"zmq_ipc", &baselines::make_zmq_ipc},
    transport_entry{"zmq_tcp", &baselines::make_zmq_tcp},
    transport_entry{"tuned_pipe_cap64k", &at_capacity<64 * KiB, false>, true},
    transport_entry{"tuned_pipe_cap256k", &at_capacity<256 * KiB, false>, true},
    transport_entry{"tuned_pipe_cap1m", &at_capacity<1 * MiB, false>, true},
    transport_entry{"tuned_pipe_cap4m", &at_capacity<4 * MiB, false>, true},
    transport_entry{"tuned_pipe_cap16m", &at_capacity<16 * MiB, false>, true},
    transport_entry{"tuned_pipe_cap64m", &at_capacity<64 * MiB, false>, true},
    transport_entry{"tuned_pipe_loan_cap64k", &at_capacity<64 * KiB, true>, true},
    transport_entry{"tuned_pipe_loan_cap256k", &at_capacity<256 * KiB, true>, true},
    transport_entry{"tuned_pipe_loan_cap1m", &at_capacity<1 * MiB, true>, true},
    transport_entry{"tuned_pipe_loan_cap4m", &at_capacity<4 * MiB, true>, true},
    transport_entry{"tuned_pipe_loan_cap16m", &at_capacity<16 * MiB, true>, true},
    transport_entry{"tuned_pipe_loan_cap64m", &at_capacity<64 * MiB, true>, true},
};

}  // namespace

std::span<const transport_entry> transports() noexcept { return registry; }

std::string describe(const transport_entry& transport, std::size_t message_size) {
  if (transport.in_process()) {
    return "one in-process copy of each message into a receive buffer, then the same check "
           "every receiver does (latency: a copy there and a copy back); no IPC: the ceiling";
  }
  try {
    return transport.make({.message_size = message_size})->describe();
  } catch (const std::exception& e) {
    return std::string("cannot be made here: ") + e.what();
  }
}

const transport_entry* find_transport(std::string_view id) noexcept {
  const auto it = std::find_if(registry.begin(), registry.end(),
                               [id](const transport_entry& e) { return e.id == id; });
  return it == registry.end() ? nullptr : &*it;
}

}  // namespace harness
