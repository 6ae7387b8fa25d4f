// cma_push: cross-memory attach with the copy on the sender's side. Each receiver maps two
// receive buffers of the run's message size and tells its peer where they are (pid, address,
// size: a hello on the notice socket). The sender copies each message straight into a free
// buffer with process_vm_writev, the one copy of the whole transfer, then sends a 16-byte
// notice (buffer, size); send() returns as soon as the notice is written, since the caller's
// memory was copied already. The receiver hands out a view of the buffer and frees it with a
// one-byte credit on its next receive, so the sender copies message k+1 while the receiver
// checks message k: the copy moves off the receiver, which in cma (the pull) does both.
//
// Sockets, peer death and the kernel's permission are as in cma (cma.cpp, cross_memory.hpp):
// one AF_UNIX stream pair per direction, end of file or ESRCH when the peer is gone, MSG_NOSIGNAL.
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>

#include "baselines/transports.hpp"
#include "cross_memory.hpp"
#include "pipes/fd.hpp"
#include "size_text.hpp"
#include "spin_wait.hpp"

namespace baselines {
namespace {

constexpr int buffers = 2;

// Where the receiver's buffers are, sent once by the receiver before anything else.
struct hello {
  std::int64_t pid = 0;
  std::uint64_t address = 0;  // buffer i starts at address + i * buffer_size
  std::uint64_t buffer_size = 0;
};

// A message is in buffer `index`.
struct notice {
  std::uint64_t index = 0;
  std::uint64_t size = 0;
};

[[noreturn]] void peer_closed() { throw std::runtime_error("peer closed"); }

// Reads exactly one T, spinning briefly first; "peer closed" at end of file, or on a reset: a
// peer that exits with bytes of ours unread (our hello, say) resets the connection.
template <typename T>
T read_one(const pipes::fd& socket) {
  spin_until_readable(socket.get());
  T value{};
  std::error_code ec;
  const std::size_t got =
      pipes::read_full(socket, std::as_writable_bytes(std::span(&value, 1)), ec);
  if (ec == std::errc::connection_reset || (!ec && got == 0)) peer_closed();
  if (ec) throw std::system_error(ec, "cma_push: read");
  if (got != sizeof value) throw std::runtime_error("cma_push: truncated message from the peer");
  return value;
}

class cma_push_channel final : public Channel {
 public:
  // `sending`: this side's end of the socket it sends notices on (credits and the peer's hello
  // come back on it); `receiving`: its end of the one the peer sends notices on.
  cma_push_channel(pipes::fd sending, pipes::fd receiving, std::size_t buffer_size)
      : sending_(std::move(sending)), receiving_(std::move(receiving)), size_(buffer_size) {
    void* p = ::mmap(nullptr, size_ * buffers, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (p == MAP_FAILED) throw std::system_error(errno, std::system_category(), "cma_push: mmap");
    own_ = static_cast<std::byte*>(p);
    const hello h{::getpid(), reinterpret_cast<std::uintptr_t>(own_), size_};
    if (!send_all(receiving_, std::as_bytes(std::span(&h, 1)))) peer_closed();
  }
  ~cma_push_channel() override { ::munmap(own_, size_ * buffers); }
  cma_push_channel(const cma_push_channel&) = delete;
  cma_push_channel& operator=(const cma_push_channel&) = delete;

  void send(std::span<const std::byte> message) override {
    if (peer_.pid == 0) peer_ = read_one<hello>(sending_);
    if (message.size() > peer_.buffer_size) {
      throw std::runtime_error("message of " + std::to_string(message.size()) +
                               " bytes is larger than the receive buffer");
    }
    if (credits_ == 0) {
      read_one<std::byte>(sending_);  // the receiver freed its oldest buffer
      ++credits_;
    }
    --credits_;
    const std::uint64_t index = next_;
    next_ = (next_ + 1) % buffers;
    push_to(static_cast<pid_t>(peer_.pid), peer_.address + index * peer_.buffer_size, message);
    const notice n{index, message.size()};
    if (!send_all(sending_, std::as_bytes(std::span(&n, 1)))) peer_closed();
  }

  std::span<const std::byte> receive(std::span<std::byte>) override {
    if (holding_) {
      // Frees the buffer of the last message. A sender that has gone cannot take the credit;
      // the notices it sent before still arrive, then end of file.
      const std::byte credit{1};
      send_all(receiving_, std::span(&credit, 1));
      holding_ = false;
    }
    const notice n = read_one<notice>(receiving_);
    if (n.index >= buffers || n.size > size_) {
      throw std::runtime_error("cma_push: bad notice (buffer " + std::to_string(n.index) + ", " +
                               std::to_string(n.size) + " bytes)");
    }
    holding_ = true;
    return {own_ + n.index * size_, static_cast<std::size_t>(n.size)};
  }

 private:
  pipes::fd sending_, receiving_;
  std::size_t size_;          // of each of this side's receive buffers
  std::byte* own_ = nullptr;  // this side's receive buffers, which the peer writes into
  hello peer_;                // the peer's, read on the first send
  int credits_ = buffers;     // the peer's buffers this side may write into
  std::uint64_t next_ = 0;    // the peer's buffer the next message goes to
  bool holding_ = false;      // the last message received is still being read
};

class cma_push final : public Transport {
 public:
  explicit cma_push(std::size_t message_size) {
    const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    buffer_size_ = std::max<std::size_t>(1, (message_size + page - 1) / page) * page;
  }

  std::unique_ptr<Channel> open(Role role) override {
    allow_sibling_access();
    if (role == Role::leader) {
      return std::make_unique<cma_push_channel>(std::move(to_follower_.first),
                                                std::move(to_leader_.second), buffer_size_);
    }
    return std::make_unique<cma_push_channel>(std::move(to_leader_.first),
                                              std::move(to_follower_.second), buffer_size_);
  }

  std::string describe() const override {
    return "cross-memory attach, pushed: the sender copies each message into one of the "
           "receiver's two " +
           size_text(buffer_size_) +
           " buffers with process_vm_writev (one copy), then a 16-B notice (buffer, size) over "
           "an AF_UNIX stream socket; the receiver reads it in place and frees the buffer with "
           "a 1-B credit on its next receive, so the next copy overlaps its check; each wait "
           "spins " +
           std::to_string(spin_time.count()) +
           " us, then blocks in read; one socket pair per direction, peer death read as end of "
           "file";
  }

 private:
  std::size_t buffer_size_ = 0;
  // One socket pair per direction: {the sender's end, the receiver's end}.
  std::pair<pipes::fd, pipes::fd> to_follower_ = pipes::open_socketpair(SOCK_STREAM);
  std::pair<pipes::fd, pipes::fd> to_leader_ = pipes::open_socketpair(SOCK_STREAM);
};

}  // namespace

std::unique_ptr<Transport> make_cma_push(const TransportParams& params) {
  if (const std::string refusal = cross_memory_refusal(); !refusal.empty()) {
    throw unsupported("cma_push: " + refusal);
  }
  return std::make_unique<cma_push>(params.message_size);
}

}  // namespace baselines
