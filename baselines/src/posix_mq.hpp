// posix_mq's queue geometry, exposed for its tests (chunk boundaries depend on it), and its
// queue, shared with the worker pool (fan_posix_mq.cpp).
#pragma once

#include <cstddef>
#include <memory>

#include "datagram_queue.hpp"

namespace baselines {

struct posix_mq_geometry {
  long max_messages = 0;        // mq_maxmsg of each queue
  long message_size = 0;        // mq_msgsize of each queue: the chunk size
  long rlimit_bytes = 0;        // RLIMIT_MSGQUEUE (soft) it was fitted to; -1 when unlimited
  long system_msg_max = 0;      // /proc/sys/fs/mqueue/msg_max
  long system_msgsize_max = 0;  // /proc/sys/fs/mqueue/msgsize_max
};

// What an unprivileged user gets here: the system's per-queue maxima, fewer messages if two
// queues would not fit in RLIMIT_MSGQUEUE. Throws baselines::unsupported if that is too little.
posix_mq_geometry choose_posix_mq_geometry();

// A queue of that geometry, owner-only, unlinked at creation: every process that uses it
// inherits the descriptor across fork() (an mqd_t is a file descriptor on Linux).
std::unique_ptr<datagram_queue> make_posix_mq_queue(const posix_mq_geometry& geometry);

}  // namespace baselines
