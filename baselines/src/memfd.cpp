// memfd: a zero-copy handoff whose safety comes from the kernel's seals, not from trusting the
// sender. loan(size) makes a memfd of `size` bytes and maps it writable; the caller builds the
// message there; commit_loan() unmaps it, seals it (write, shrink, grow, and the seals
// themselves) and passes the descriptor with SCM_RIGHTS, the message size beside it. The receiver
// refuses a descriptor that is not sealed so, or holds fewer bytes than announced, maps it
// read-only and returns a view into it: what it checks is what the sender built, and nobody can
// change it any more. No copy is made beyond building the message (send() adds the one copy into
// the loan).
//
// A write seal is permanent (there is no F_REMOVE_SEALS, and nobody could trust one if there
// were), so a memfd cannot be refilled: every message is a fresh memfd, and the kernel allocates
// and zeroes its pages each time. That page allocation is part of what this transport costs.
//
// Flow control: the receiver releases a message (unmaps it) on its next receive() or when it is
// destroyed, and only then sends a 1-byte acknowledgement; a sender with memfd_in_flight messages
// unacknowledged reads acknowledgements before it makes another memfd. So at most that many
// memfds exist per direction, counting the one the receiver is reading.
//
// Each direction has its own AF_UNIX SOCK_SEQPACKET pair, made before fork(): notices (an 8-byte
// size and one descriptor per packet, boundaries kept) one way, acknowledgements the other. A
// peer that has gone reads as end of file; sends use MSG_NOSIGNAL, so a dead reader is an error,
// never a SIGPIPE. Every descriptor is close-on-exec, those received included (MSG_CMSG_CLOEXEC).
#include "memfd.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "baselines/transports.hpp"

namespace baselines {
namespace {

constexpr int seals_added = F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL;
constexpr std::size_t max_notice_descriptors = 4;

[[noreturn]] void throw_errno(const char* what) {
  throw std::system_error(errno, std::system_category(), std::string("memfd: ") + what);
}

[[noreturn]] void throw_peer_closed() { throw std::runtime_error("peer closed"); }

// A shared mapping of a whole file, unmapped on destruction; none at all for zero bytes (mmap
// refuses a zero length).
class mapping {
 public:
  mapping() noexcept = default;
  mapping(const pipes::fd& file, std::size_t size, int protection) {
    if (size == 0) return;
    void* p = ::mmap(nullptr, size, protection, MAP_SHARED | MAP_POPULATE, file.get(), 0);
    if (p == MAP_FAILED) throw_errno("mmap");
    data_ = static_cast<std::byte*>(p);
    size_ = size;
  }
  mapping(mapping&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}
  mapping& operator=(mapping&& other) noexcept {
    if (this != &other) {
      reset();
      data_ = std::exchange(other.data_, nullptr);
      size_ = std::exchange(other.size_, 0);
    }
    return *this;
  }
  ~mapping() { reset(); }

  void reset() noexcept {
    if (data_ != nullptr) ::munmap(data_, size_);
    data_ = nullptr;
    size_ = 0;
  }

  std::span<std::byte> bytes() const noexcept { return {data_, size_}; }

 private:
  std::byte* data_ = nullptr;
  std::size_t size_ = 0;
};

// recvmsg, retried on EINTR and once on ECONNRESET: a SEQPACKET socket whose peer closed with
// unread packets of its own reports ECONNRESET once, before what the peer sent us is read out;
// what follows is that, then end of file.
ssize_t receive_packet(const pipes::fd& socket, msghdr& message, int flags) {
  for (bool reset_seen = false;;) {
    const ssize_t n = ::recvmsg(socket.get(), &message, flags);
    if (n >= 0) return n;
    if (errno == EINTR) continue;
    if (errno == ECONNRESET && !reset_seen) {
      reset_seen = true;
      continue;
    }
    if (errno == ECONNRESET) throw_peer_closed();
    throw_errno("recvmsg");
  }
}

// sendmsg with MSG_NOSIGNAL, retried on EINTR; false when the peer has gone.
bool send_packet(const pipes::fd& socket, const msghdr& message) {
  for (;;) {
    if (::sendmsg(socket.get(), &message, MSG_NOSIGNAL) >= 0) return true;
    if (errno == EINTR) continue;
    if (errno == EPIPE || errno == ECONNRESET) return false;
    throw_errno("sendmsg");
  }
}

struct notice {
  std::uint64_t size = 0;
  pipes::fd file;
};

// Reads one notice: its size and its one descriptor. Every descriptor that arrived is owned
// (and so closed) before the notice is judged, so a refused notice leaks none.
notice read_notice(const pipes::fd& socket) {
  std::uint64_t size = 0;
  iovec data{&size, sizeof size};
  union {
    cmsghdr align;
    std::byte bytes[CMSG_SPACE(sizeof(int) * 2)];  // room for one descriptor too many, to see it
  } control;
  msghdr message{};
  message.msg_iov = &data;
  message.msg_iovlen = 1;
  message.msg_control = control.bytes;
  message.msg_controllen = sizeof control.bytes;
  const ssize_t n = receive_packet(socket, message, MSG_CMSG_CLOEXEC);
  std::vector<pipes::fd> files;
  for (cmsghdr* c = CMSG_FIRSTHDR(&message); c != nullptr; c = CMSG_NXTHDR(&message, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    for (std::size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); ++i) {
      int raw = -1;
      std::memcpy(&raw, CMSG_DATA(c) + i * sizeof(int), sizeof raw);
      files.emplace_back(raw);
    }
  }
  if (n == 0 && files.empty()) throw_peer_closed();
  if ((message.msg_flags & MSG_CTRUNC) != 0) {
    throw std::runtime_error(
        "memfd: control message truncated (a notice with too many descriptors)");
  }
  if ((message.msg_flags & MSG_TRUNC) != 0 || n != static_cast<ssize_t>(sizeof size)) {
    throw std::runtime_error("memfd: malformed notice");
  }
  if (files.empty()) throw std::runtime_error("memfd: notice without a descriptor");
  if (files.size() > 1) throw std::runtime_error("memfd: notice with more than one descriptor");
  return {size, std::move(files.front())};
}

// Refuses a file its sender could still change under the reader, or one shorter than the
// message: F_SEAL_WRITE means no writable mapping exists or can be made and write() fails;
// F_SEAL_SHRINK that the mapped pages stay (no SIGBUS mid-read). F_SEAL_FUTURE_WRITE alone would
// not do: it leaves writable mappings made before it.
void require_sealed(const pipes::fd& file, std::uint64_t size) {
  const int seals = ::fcntl(file.get(), F_GET_SEALS);
  if (seals < 0) {
    throw std::runtime_error(std::string("memfd: descriptor is not a memfd (F_GET_SEALS: ") +
                             std::strerror(errno) + ")");
  }
  if ((seals & F_SEAL_WRITE) == 0) {
    throw std::runtime_error("memfd: descriptor not sealed against writes");
  }
  if ((seals & F_SEAL_SHRINK) == 0) {
    throw std::runtime_error("memfd: descriptor not sealed against shrinking");
  }
  if ((seals & F_SEAL_GROW) == 0) {
    throw std::runtime_error("memfd: descriptor not sealed against growing");
  }
  struct stat status {};
  if (::fstat(file.get(), &status) != 0) throw_errno("fstat");
  if (static_cast<std::uint64_t>(status.st_size) < size) {
    throw std::runtime_error("memfd: descriptor holds " + std::to_string(status.st_size) +
                             " bytes, fewer than the " + std::to_string(size) + " announced");
  }
}

class memfd_channel final : public Channel {
 public:
  memfd_channel(pipes::fd sending, pipes::fd receiving)
      : sending_(std::move(sending)), receiving_(std::move(receiving)) {}

  std::optional<std::span<std::byte>> loan(std::size_t size) override {
    loan_map_.reset();  // a loan never committed is dropped
    loan_file_ = pipes::fd();
    while (unacknowledged_ >= memfd_in_flight) await_acknowledgement();
    pipes::fd file(::memfd_create("pipebench-memfd", MFD_CLOEXEC | MFD_ALLOW_SEALING));
    if (!file) throw_errno("memfd_create");
    while (::ftruncate(file.get(), static_cast<off_t>(size)) != 0) {
      if (errno != EINTR) throw_errno("ftruncate");
    }
    loan_map_ = mapping(file, size, PROT_READ | PROT_WRITE);
    loan_file_ = std::move(file);
    loan_size_ = size;
    return loan_map_.bytes();
  }

  void commit_loan() override {
    if (!loan_file_) throw std::logic_error("memfd: commit_loan() without a loan");
    const pipes::fd file = std::move(loan_file_);  // closed on return: the notice holds the file
    loan_map_.reset();  // F_SEAL_WRITE is refused (EBUSY) while a writable shared mapping exists
    if (::fcntl(file.get(), F_ADD_SEALS, seals_added) != 0) throw_errno("F_ADD_SEALS");
    const int raw = file.get();
    if (!send_memfd_notice(sending_, std::span(&raw, 1), loan_size_)) throw_peer_closed();
    ++unacknowledged_;
  }

  void send(std::span<const std::byte> message) override {
    const std::span<std::byte> room = *loan(message.size());
    if (!message.empty()) std::memcpy(room.data(), message.data(), message.size());
    commit_loan();
  }

  std::span<const std::byte> receive(std::span<std::byte> /*scratch: read in place*/) override {
    release();
    const notice n = read_notice(receiving_);
    require_sealed(n.file, n.size);
    held_ = mapping(n.file, static_cast<std::size_t>(n.size), PROT_READ);
    holding_ = true;  // acknowledged when released, so the view stays valid until the next call
    return held_.bytes();
  }

 private:
  // Unmaps the message returned last and acknowledges it. A peer that has gone needs no
  // acknowledgement, and what it sent before it went is still to be read: that read reports it.
  void release() {
    if (!holding_) return;
    held_.reset();
    holding_ = false;
    std::byte done{1};
    iovec data{&done, 1};
    msghdr message{};
    message.msg_iov = &data;
    message.msg_iovlen = 1;
    send_packet(receiving_, message);
  }

  void await_acknowledgement() {
    std::byte done{};
    iovec data{&done, 1};
    msghdr message{};
    message.msg_iov = &data;
    message.msg_iovlen = 1;
    if (receive_packet(sending_, message, 0) == 0) throw_peer_closed();
    --unacknowledged_;
  }

  pipes::fd sending_, receiving_;
  // Sending: the memfd lent out and its writable mapping, and messages not yet acknowledged.
  pipes::fd loan_file_;
  mapping loan_map_;
  std::size_t loan_size_ = 0;
  std::size_t unacknowledged_ = 0;
  // Receiving: the message returned last, mapped read-only.
  mapping held_;
  bool holding_ = false;
};

// Whether this kernel makes sealable memfds: "" if so, else its reason.
std::string memfd_refusal() {
  static const std::string reason = [] {
    const pipes::fd file(::memfd_create("pipebench-memfd-probe", MFD_CLOEXEC | MFD_ALLOW_SEALING));
    if (!file) {
      return std::string("memfd_create refused: ") + std::strerror(errno) +
             " (a kernel older than 3.17, or a seccomp profile)";
    }
    if (::fcntl(file.get(), F_ADD_SEALS, seals_added) != 0) {
      return std::string("F_ADD_SEALS refused: ") + std::strerror(errno);
    }
    if ((::fcntl(file.get(), F_GET_SEALS) & seals_added) != seals_added) {
      return std::string("the seals did not hold (F_GET_SEALS)");
    }
    return std::string();
  }();
  return reason;
}

class memfd final : public Transport {
 public:
  std::unique_ptr<Channel> open(Role role) override {
    if (role == Role::leader) {
      return open_memfd_channel(std::move(to_follower_.first), std::move(to_leader_.second));
    }
    return open_memfd_channel(std::move(to_leader_.first), std::move(to_follower_.second));
  }

  std::string describe() const override {
    return "sealed memfds: a fresh memfd per message (memfd_create, ftruncate, mmap with "
           "MAP_POPULATE: the kernel allocates and zeroes its pages every time, since a write "
           "seal is permanent and a sealed memfd cannot be refilled), built in place, unmapped, "
           "sealed (write, shrink, grow, seal) and passed with SCM_RIGHTS and its size over an "
           "AF_UNIX SOCK_SEQPACKET pair per direction; the receiver checks the seals and the "
           "size, maps it read-only and reads it in place (zero copies beyond building); at most " +
           std::to_string(memfd_in_flight) +
           " messages unacknowledged per direction (a 1-B acknowledgement when the receiver "
           "releases one); peer death read as end of file";
  }

 private:
  // One socket pair per direction: {the sender's end, the receiver's end}.
  std::pair<pipes::fd, pipes::fd> to_follower_ = pipes::open_socketpair(SOCK_SEQPACKET);
  std::pair<pipes::fd, pipes::fd> to_leader_ = pipes::open_socketpair(SOCK_SEQPACKET);
};

}  // namespace

std::unique_ptr<Channel> open_memfd_channel(pipes::fd sending, pipes::fd receiving) {
  return std::make_unique<memfd_channel>(std::move(sending), std::move(receiving));
}

bool send_memfd_notice(const pipes::fd& socket, std::span<const int> descriptors,
                       std::uint64_t size) {
  if (descriptors.size() > max_notice_descriptors) {
    throw std::invalid_argument("memfd: a notice carries at most 4 descriptors");
  }
  iovec data{&size, sizeof size};
  union {
    cmsghdr align;
    std::byte bytes[CMSG_SPACE(sizeof(int) * max_notice_descriptors)];
  } control;
  msghdr message{};
  message.msg_iov = &data;
  message.msg_iovlen = 1;
  if (!descriptors.empty()) {
    message.msg_control = control.bytes;
    message.msg_controllen = CMSG_SPACE(sizeof(int) * descriptors.size());
    cmsghdr* c = CMSG_FIRSTHDR(&message);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * descriptors.size());
    std::memcpy(CMSG_DATA(c), descriptors.data(), sizeof(int) * descriptors.size());
  }
  return send_packet(socket, message);
}

std::unique_ptr<Transport> make_memfd(const TransportParams&) {
  if (const std::string refusal = memfd_refusal(); !refusal.empty()) {
    throw unsupported("memfd: " + refusal);
  }
  return std::make_unique<memfd>();
}

}  // namespace baselines
