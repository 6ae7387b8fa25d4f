// Factories of the rival transports. Each is made in the controlling process before fork();
// see channel.hpp for the life cycle.
#pragma once

#include <memory>

#include "baselines/channel.hpp"

namespace baselines {

// pipe() at the default size, one per direction, framed as Python's Connection frames.
std::unique_ptr<Transport> make_naive_pipe(const TransportParams& params);

// One AF_UNIX stream socketpair at default buffer sizes (what Python's duplex Pipe() uses),
// framed as Python's Connection frames.
std::unique_ptr<Transport> make_socketpair(const TransportParams& params);

}  // namespace baselines
