// posix_mq: two POSIX message queues (one per direction), messages chunked to the queue's
// maximum message size. The queues are created by the controller and unlinked at once: the
// children inherit the descriptors across fork() (an mqd_t is a file descriptor on Linux), so no
// name exists for longer than the creating call, whatever happens to the processes later.
#include "posix_mq.hpp"

#include <fcntl.h>
#include <mqueue.h>
#include <sys/resource.h>
#include <time.h>

#include <cerrno>
#include <chrono>
#include <fstream>
#include <optional>
#include <string>
#include <system_error>

#include "baselines/transports.hpp"
#include "chunking.hpp"
#include "datagram_queue.hpp"
#include "peer_lifeline.hpp"
#include "pipes/fd.hpp"
#include "unique_name.hpp"

namespace baselines {
namespace {

// Kernel bookkeeping charged to RLIMIT_MSGQUEUE per message slot (struct msg_msg and a priority
// tree node, about 96 bytes on x86-64), rounded up so the estimate never undershoots.
constexpr long slot_overhead = 128;

long read_limit(const char* path) {
  std::ifstream in(path);
  long value = 0;
  if (!(in >> value)) throw unsupported(std::string("POSIX message queues: cannot read ") + path);
  return value;
}

[[noreturn]] void throw_errno(const char* what) {
  throw std::system_error(errno, std::system_category(), what);
}

// Creates a queue with an unguessable name, owner-only, and unlinks it at once.
pipes::fd create_unlinked_queue(const posix_mq_geometry& geometry) {
  const std::string name = unique_name("/pipebench-mq-");
  mq_attr attr{};
  attr.mq_maxmsg = geometry.max_messages;
  attr.mq_msgsize = geometry.message_size;
  const mqd_t q = ::mq_open(name.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600, &attr);
  if (q == static_cast<mqd_t>(-1)) {
    const int error = errno;
    if (error == ENOSYS || error == EMFILE || error == ENOSPC || error == ENOMEM) {
      throw unsupported("posix_mq: mq_open: " + std::system_category().message(error) +
                        " (queues_max, RLIMIT_MSGQUEUE or kernel support)");
    }
    throw std::system_error(error, std::system_category(), "mq_open");
  }
  pipes::fd queue(q);  // mq_close(q) is close(q) on Linux
  report_created(named_resource::message_queue, name);
  if (::mq_unlink(name.c_str()) != 0) throw_errno("mq_unlink");
  return queue;
}

timespec deadline_after(std::chrono::milliseconds wait) {
  timespec t{};
  ::clock_gettime(CLOCK_REALTIME, &t);  // mq_timed* take an absolute CLOCK_REALTIME time
  t.tv_nsec += static_cast<long>(wait.count()) * 1'000'000;
  t.tv_sec += t.tv_nsec / 1'000'000'000;
  t.tv_nsec %= 1'000'000'000;
  return t;
}

// An expired deadline makes the timed calls fail at once instead of blocking.
class posix_queue final : public datagram_queue {
 public:
  posix_queue(pipes::fd queue, std::size_t message_size)
      : queue_(std::move(queue)), size_(message_size) {}

  std::size_t max_datagram() const noexcept override { return size_; }

  bool send(std::span<const std::byte> datagram, std::chrono::milliseconds wait) override {
    const timespec deadline = deadline_after(wait);
    for (;;) {
      if (::mq_timedsend(queue_.get(), reinterpret_cast<const char*>(datagram.data()),
                         datagram.size(), 0, &deadline) == 0) {
        return true;
      }
      if (errno == ETIMEDOUT) return false;
      if (errno != EINTR) throw_errno("mq_timedsend");
    }
  }

  std::optional<std::size_t> receive(std::span<std::byte> buffer,
                                     std::chrono::milliseconds wait) override {
    const timespec deadline = deadline_after(wait);
    for (;;) {
      const ssize_t got = ::mq_timedreceive(queue_.get(), reinterpret_cast<char*>(buffer.data()),
                                            buffer.size(), nullptr, &deadline);
      if (got >= 0) return static_cast<std::size_t>(got);
      if (errno == ETIMEDOUT) return std::nullopt;
      if (errno != EINTR) throw_errno("mq_timedreceive");
    }
  }

 private:
  pipes::fd queue_;
  std::size_t size_;
};

class posix_mq final : public Transport {
 public:
  explicit posix_mq(const posix_mq_geometry& geometry)
      : geometry_(geometry),
        to_follower_(make_posix_mq_queue(geometry)),
        to_leader_(make_posix_mq_queue(geometry)) {}

  std::unique_ptr<Channel> open(Role role) override {
    auto out = std::move(role == Role::leader ? to_follower_ : to_leader_);
    auto in = std::move(role == Role::leader ? to_leader_ : to_follower_);
    return make_chunked_channel(
        make_queue_pair_link(std::move(out), std::move(in), lifelines_.take(role)));
  }

  std::string describe() const override {
    const auto& g = geometry_;
    return "POSIX mq, one queue per direction of " + std::to_string(g.max_messages) + " x " +
           std::to_string(g.message_size) + " B (fs.mqueue.msg_max " +
           std::to_string(g.system_msg_max) + ", msgsize_max " +
           std::to_string(g.system_msgsize_max) + ", RLIMIT_MSGQUEUE " +
           (g.rlimit_bytes < 0 ? std::string("unlimited") : std::to_string(g.rlimit_bytes)) +
           " B, as an unprivileged user gets them, not raised); chunked: 8-B length + up to " +
           std::to_string(g.message_size - static_cast<long>(chunk_header_size)) +
           " B inline, else a header datagram and " + std::to_string(g.message_size) +
           "-B chunks; blocking mq_timedsend/mq_timedreceive, peer checked every " +
           std::to_string(queue_liveness_check.count()) +
           " ms (lifeline pipe); queues unlinked at creation";
  }

 private:
  posix_mq_geometry geometry_;
  std::unique_ptr<datagram_queue> to_follower_, to_leader_;
  lifeline_pair lifelines_;
};

}  // namespace

std::unique_ptr<datagram_queue> make_posix_mq_queue(const posix_mq_geometry& geometry) {
  return std::make_unique<posix_queue>(create_unlinked_queue(geometry),
                                       static_cast<std::size_t>(geometry.message_size));
}

posix_mq_geometry choose_posix_mq_geometry() {
  posix_mq_geometry g;
  g.system_msg_max = read_limit("/proc/sys/fs/mqueue/msg_max");
  g.system_msgsize_max = read_limit("/proc/sys/fs/mqueue/msgsize_max");
  rlimit limit{};
  if (::getrlimit(RLIMIT_MSGQUEUE, &limit) != 0) throw_errno("getrlimit");
  g.rlimit_bytes = limit.rlim_cur == RLIM_INFINITY ? -1 : static_cast<long>(limit.rlim_cur);
  g.message_size = g.system_msgsize_max;
  g.max_messages = g.system_msg_max;
  if (g.rlimit_bytes >= 0) {
    // Two queues must fit in the per-user byte limit, or mq_open fails with EMFILE.
    const long per_queue = g.rlimit_bytes / 2;
    g.max_messages = std::min(g.max_messages, per_queue / (g.message_size + slot_overhead));
  }
  if (g.message_size < 64 || g.max_messages < 2) {
    throw unsupported("posix_mq: the limits allow " + std::to_string(g.max_messages) +
                      " messages of " + std::to_string(g.message_size) +
                      " B per queue (msg_max, msgsize_max, RLIMIT_MSGQUEUE): too small to chunk");
  }
  return g;
}

std::unique_ptr<Transport> make_posix_mq(const TransportParams&) {
  return std::make_unique<posix_mq>(choose_posix_mq_geometry());
}

}  // namespace baselines
