#include "transport_registry.hpp"

#include <algorithm>
#include <array>

#include "baselines/transports.hpp"
#include "tuned_pipe_transports.hpp"

namespace harness {
namespace {

const std::array registry{
    transport_entry{"memcpy", "the ceiling: one in-process copy, no IPC", nullptr},
    transport_entry{"naive_pipe", "pipe() at default size, Python framing",
                    &baselines::make_naive_pipe},
    transport_entry{"tuned_pipe", "pipes, default options", &make_tuned_pipe},
    transport_entry{"tuned_pipe_loan", "pipes, sender builds in a loan (zero copy)",
                    &make_tuned_pipe_loan},
    transport_entry{"tuned_pipe_built", "pipes, sender builds in its own buffer (loan's twin)",
                    &make_tuned_pipe_built},
    transport_entry{"tuned_pipe_batch", "pipes, send_batch of small messages",
                    &make_tuned_pipe_batch},
    transport_entry{"tuned_pipe_spin", "pipes, 100 us spin before blocking", &make_tuned_pipe_spin},
    transport_entry{"pipe_levers_off", "pipes with every lever off", &make_pipe_levers_off},
    transport_entry{"pipe_bigbuf", "levers off + pipe at pipe-max-size", &make_pipe_bigbuf},
    transport_entry{"pipe_writev", "levers off + one writev per message", &make_pipe_writev},
    transport_entry{"pipe_readahead", "levers off + receiver read-ahead", &make_pipe_readahead},
    transport_entry{"pipe_vmsplice", "levers off + vmsplice staging ring", &make_pipe_vmsplice},
    transport_entry{"socketpair", "AF_UNIX stream pair, Python framing",
                    &baselines::make_socketpair},
    transport_entry{"boost_mq", "Boost message_queue, chunked", &baselines::make_boost_mq},
    transport_entry{"posix_mq", "POSIX mq_send/mq_receive, chunked", &baselines::make_posix_mq},
    transport_entry{"shm_ring", "SPSC shared-memory byte ring, futex", &baselines::make_shm_ring},
    transport_entry{"zmq_ipc", "ZeroMQ PAIR over ipc://", &baselines::make_zmq_ipc},
    transport_entry{"zmq_tcp", "ZeroMQ PAIR over tcp://127.0.0.1", &baselines::make_zmq_tcp},
};

}  // namespace

std::span<const transport_entry> transports() noexcept { return registry; }

const transport_entry* find_transport(std::string_view id) noexcept {
  const auto it = std::find_if(registry.begin(), registry.end(),
                               [id](const transport_entry& e) { return e.id == id; });
  return it == registry.end() ? nullptr : &*it;
}

}  // namespace harness
