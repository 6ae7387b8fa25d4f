#include "transport_registry.hpp"

#include <algorithm>
#include <array>

#include "baselines/fan_transports.hpp"
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
    transport_entry{.id = "naive_pipe",
                    .make = &baselines::make_naive_pipe,
                    .make_fan = &baselines::make_naive_pipe_fan},
    transport_entry{.id = "tuned_pipe",
                    .make = &baselines::make_tuned_pipe,
                    .make_fan = &baselines::make_tuned_pipe_fan},
    // The same code as tuned_pipe under a second name: the gap between the two, measured
    // interleaved in one run, is that run's noise floor.
    transport_entry{.id = "control_twin",
                    .make = &baselines::make_tuned_pipe,
                    .make_fan = &baselines::make_tuned_pipe_fan},
    transport_entry{"tuned_pipe_loan", &baselines::make_tuned_pipe_loan},
    transport_entry{"tuned_pipe_built", &baselines::make_tuned_pipe_built},
    transport_entry{"tuned_pipe_batch", &baselines::make_tuned_pipe_batch},
    transport_entry{"tuned_pipe_spin", &baselines::make_tuned_pipe_spin},
    transport_entry{"pipe_levers_off", &baselines::make_pipe_levers_off},
    transport_entry{"pipe_bigbuf", &baselines::make_pipe_bigbuf},
    transport_entry{"pipe_writev", &baselines::make_pipe_writev},
    transport_entry{"pipe_readahead", &baselines::make_pipe_readahead},
    transport_entry{"pipe_vmsplice", &baselines::make_pipe_vmsplice},
    transport_entry{.id = "socketpair",
                    .make = &baselines::make_socketpair,
                    .make_fan = &baselines::make_socketpair_fan},
    transport_entry{.id = "boost_mq",
                    .make = &baselines::make_boost_mq,
                    .make_fan = &baselines::make_boost_mq_fan},
    transport_entry{.id = "posix_mq",
                    .make = &baselines::make_posix_mq,
                    .make_fan = &baselines::make_posix_mq_fan},
    transport_entry{.id = "shm_ring",
                    .make = &baselines::make_shm_ring,
                    .make_fan = &baselines::make_shm_ring_fan},
    transport_entry{"shm_ring_inplace", &baselines::make_shm_ring_inplace},
    transport_entry{"cma", &baselines::make_cma},
    transport_entry{"cma_push", &baselines::make_cma_push},
    transport_entry{"memfd", &baselines::make_memfd},
    transport_entry{"memfd_sealed", &baselines::make_memfd_sealed},
    transport_entry{.id = "tcp", .make = &baselines::make_tcp, .reaches_other_hosts = true},
    transport_entry{.id = "zmq_ipc",
                    .make = &baselines::make_zmq_ipc,
                    .make_fan = &baselines::make_zmq_ipc_fan},
    transport_entry{.id = "zmq_tcp", .make = &baselines::make_zmq_tcp, .reaches_other_hosts = true},
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
