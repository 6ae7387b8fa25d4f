// Factories of the worker-pool transports (fan.hpp), one file each in baselines/src/fan_*.cpp.
// Each is made in the controlling process before fork(), as the pair transports are.
#pragma once

#include <memory>

#include "baselines/fan.hpp"

namespace baselines {

// One connection per worker, the hub waiting on all of them with poll(): `pipes` with its
// default options, pipe() at the default size framed as Python's Connection frames, and an
// AF_UNIX stream socketpair framed the same way.
std::unique_ptr<FanTransport> make_tuned_pipe_fan(const FanParams& params);
std::unique_ptr<FanTransport> make_naive_pipe_fan(const FanParams& params);
std::unique_ptr<FanTransport> make_socketpair_fan(const FanParams& params);

// One single-producer single-consumer ring per worker; the hub goes round the rings.
std::unique_ptr<FanTransport> make_shm_ring_fan(const FanParams& params);
// ZeroMQ PUSH/PULL over ipc://: the pusher deals messages to whichever puller is ready.
std::unique_ptr<FanTransport> make_zmq_ipc_fan(const FanParams& params);
// One queue that every worker reads from (fanout) or writes to (fanin).
std::unique_ptr<FanTransport> make_boost_mq_fan(const FanParams& params);
std::unique_ptr<FanTransport> make_posix_mq_fan(const FanParams& params);

}  // namespace baselines
