// Writing to a socket without ever raising SIGPIPE, whatever the process does with that signal.
#pragma once

#include <span>

#include "pipes/fd.hpp"

namespace baselines {

// Writes all of `bytes` to a socket (send with MSG_NOSIGNAL); false when the peer has gone
// (EPIPE, ECONNRESET). Other errors throw std::system_error.
bool send_all(const pipes::fd& socket, std::span<const std::byte> bytes);

}  // namespace baselines
