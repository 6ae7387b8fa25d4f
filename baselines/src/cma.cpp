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
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>

#include "baselines/transports.hpp"
#include "cross_memory.hpp"
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
    pull_from(static_cast<pid_t>(n.pid), n.address, message);
    const std::byte done{1};
    if (!send_all(receiving_, std::span(&done, 1))) throw std::runtime_error("peer closed");
    return message;
  }

 private:
  pipes::fd sending_, receiving_;
};

class cma final : public Transport {
 public:
  std::unique_ptr<Channel> open(Role role) override {
    // Lets the peer read this process under Yama's ptrace_scope 1 (siblings are not descendants).
    allow_sibling_access();
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
