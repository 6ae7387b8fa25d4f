// cma: cross-memory attach, the single-copy tier. The sender tells the receiver where a message
// is (its pid, the message's address and size: a 24-byte notice); the receiver copies it straight
// out of the sender's memory into its own buffer with process_vm_readv, the one copy of the whole
// transfer, and answers with a one-byte acknowledgement. send() returns only then, since the
// caller may rewrite its buffer as soon as send() returns.
//
// Each direction has its own AF_UNIX stream socket pair, made before fork(): notices one way,
// acknowledgements the other. Each side keeps only its ends, so a peer that dies reads as end of
// file where this side waits; writes use MSG_NOSIGNAL, so a dead reader is an error, never a
// SIGPIPE, whatever the process does with that signal.
// The kernel must let one child read the other's memory (same user; Yama's ptrace_scope 1 is met
// with PR_SET_PTRACER in open(); 3, or 2 without CAP_SYS_PTRACE, refuses): the factory tries a
// read from a forked child once and throws `unsupported` with the kernel's reason otherwise.
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>

#include "baselines/transports.hpp"
#include "pipes/fd.hpp"
#include "spin_wait.hpp"

namespace baselines {
namespace {

// Where a message is, in the sender's address space.
struct notice {
  std::uint64_t address = 0;
  std::uint64_t size = 0;
  std::int64_t pid = 0;
};

// Writes all of `bytes` to a socket; false when the peer has gone.
bool send_all(const pipes::fd& socket, std::span<const std::byte> bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(socket.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n > 0) {
      bytes = bytes.subspan(static_cast<std::size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) {
      return false;
    } else {
      throw std::system_error(errno, std::system_category(), "cma: send");
    }
  }
  return true;
}

// Copies `out.size()` bytes at `address` in process `pid` into `out`, resuming short reads.
void copy_from(pid_t pid, std::uint64_t address, std::span<std::byte> out) {
  for (std::size_t done = 0; done < out.size();) {
    iovec local{out.data() + done, out.size() - done};
    iovec remote{reinterpret_cast<void*>(address + done), out.size() - done};
    const ssize_t n = ::process_vm_readv(pid, &local, 1, &remote, 1, 0);
    if (n > 0) {
      done += static_cast<std::size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && errno == ESRCH) {
      throw std::runtime_error("peer closed");  // the sender is gone
    } else if (n < 0) {
      throw std::system_error(errno, std::system_category(), "process_vm_readv");
    } else {
      throw std::runtime_error("cma: process_vm_readv copied nothing");
    }
  }
}

class cma_channel final : public Channel {
 public:
  // `sending`: this side's end of the socket it sends notices on (and reads their
  // acknowledgements from); `receiving`: its end of the one the peer sends notices on.
  cma_channel(pipes::fd sending, pipes::fd receiving)
      : sending_(std::move(sending)), receiving_(std::move(receiving)) {}

  void send(std::span<const std::byte> message) override {
    const notice n{reinterpret_cast<std::uintptr_t>(message.data()), message.size(), ::getpid()};
    if (!send_all(sending_, std::as_bytes(std::span(&n, 1))))
      throw std::runtime_error("peer closed");
    spin_until_readable(sending_.get());
    std::byte done{};
    if (pipes::read_full(sending_, std::span(&done, 1)) != 1) {
      throw std::runtime_error("peer closed");  // before it had copied the message
    }
  }

  std::span<const std::byte> receive(std::span<std::byte> scratch) override {
    notice n;
    spin_until_readable(receiving_.get());
    const std::size_t got = pipes::read_full(receiving_, std::as_writable_bytes(std::span(&n, 1)));
    if (got == 0) throw std::runtime_error("peer closed");
    if (got != sizeof n) throw std::runtime_error("cma: truncated notice (peer died writing it)");
    if (n.size > scratch.size()) {
      throw std::runtime_error("message of " + std::to_string(n.size) +
                               " bytes is larger than the receive buffer");
    }
    const auto message = scratch.first(static_cast<std::size_t>(n.size));
    copy_from(static_cast<pid_t>(n.pid), n.address, message);
    const std::byte done{1};
    if (!send_all(receiving_, std::span(&done, 1))) throw std::runtime_error("peer closed");
    return message;
  }

 private:
  pipes::fd sending_, receiving_;
};

// Whether a child may read its parent's memory here: "" if so, else the kernel's reason. A forked
// child reads one word of this process, as one benchmark child will read the other's.
std::string cross_memory_refusal() {
  static const std::string reason = [] {
    ::prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0);  // Yama scope 1; EINVAL without Yama
    static std::uint64_t word = 0x5eed;
    const auto address = reinterpret_cast<std::uintptr_t>(&word);
    const pid_t parent = ::getpid();
    const pid_t child = ::fork();
    if (child < 0) return std::string("fork: ") + std::strerror(errno);
    if (child == 0) {
      std::uint64_t got = 0;
      iovec local{&got, sizeof got};
      iovec remote{reinterpret_cast<void*>(address), sizeof got};
      const ssize_t n = ::process_vm_readv(parent, &local, 1, &remote, 1, 0);
      ::_exit(n == static_cast<ssize_t>(sizeof got) && got == 0x5eed ? 0 : (n < 0 ? errno : 255));
    }
    int status = 0;
    while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return std::string();
    if (WIFEXITED(status) && WEXITSTATUS(status) != 255) {
      return std::string("process_vm_readv refused: ") + std::strerror(WEXITSTATUS(status)) +
             " (kernel.yama.ptrace_scope, a seccomp profile or a container)";
    }
    return std::string("process_vm_readv did not read the parent's memory");
  }();
  return reason;
}

class cma final : public Transport {
 public:
  std::unique_ptr<Channel> open(Role role) override {
    // Lets the peer read this process under Yama's ptrace_scope 1 (siblings are not descendants).
    ::prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0);
    if (role == Role::leader) {
      return std::make_unique<cma_channel>(std::move(to_follower_.first),
                                           std::move(to_leader_.second));
    }
    return std::make_unique<cma_channel>(std::move(to_leader_.first),
                                         std::move(to_follower_.second));
  }

  std::string describe() const override {
    return "cross-memory attach: a 24-B notice (pid, address, size) over an AF_UNIX stream "
           "socket, the receiver copies the message out of the sender's memory with "
           "process_vm_readv (one copy), then a 1-B acknowledgement back before send() returns; "
           "each wait spins " +
           std::to_string(spin_time.count()) +
           " us, then blocks in read; "
           "one socket pair per direction, peer death read as end of file";
  }

 private:
  // One socket pair per direction: {the sender's end, the receiver's end}.
  std::pair<pipes::fd, pipes::fd> to_follower_ = pipes::open_socketpair(SOCK_STREAM);
  std::pair<pipes::fd, pipes::fd> to_leader_ = pipes::open_socketpair(SOCK_STREAM);
};

}  // namespace

std::unique_ptr<Transport> make_cma(const TransportParams&) {
  if (const std::string refusal = cross_memory_refusal(); !refusal.empty()) {
    throw unsupported("cma: " + refusal);
  }
  return std::make_unique<cma>();
}

}  // namespace baselines
