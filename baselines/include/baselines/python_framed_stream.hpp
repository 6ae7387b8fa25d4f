// A channel over a byte stream (a pipe pair or a socket) that frames messages exactly as
// Python's multiprocessing.connection.Connection does, and as naively: header and payload in
// one write up to 16 KiB (Python concatenates them), two writes above; the receiver reads the
// 4-byte header, then the payload, with unbuffered reads. This is the baseline a tuned pipe
// has to beat, so it does nothing Python does not.
#pragma once

#include <memory>

#include "baselines/channel.hpp"
#include "pipes/fd.hpp"

namespace baselines {

// `in` and `out` may be the same socket (pass a duplicate) or the two ends of two pipes.
std::unique_ptr<Channel> make_python_framed_stream(pipes::fd in, pipes::fd out);

}  // namespace baselines
