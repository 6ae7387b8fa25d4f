// Small helpers shared by the stream transports: kernel pipes and socket pairs as owned fds.
#pragma once

#include <utility>

#include "pipes/fd.hpp"

namespace baselines {

// pipe2(O_CLOEXEC) at the kernel's default size: {read end, write end}.
std::pair<pipes::fd, pipes::fd> os_pipe();

// socketpair(AF_UNIX, type | SOCK_CLOEXEC).
std::pair<pipes::fd, pipes::fd> os_socketpair(int type);

// dup(2) with close-on-exec.
pipes::fd duplicate(const pipes::fd& original);

}  // namespace baselines
