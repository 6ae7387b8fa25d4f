#include "memfd_common.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "baselines/transports.hpp"
#include "memfd.hpp"
#include "spin_wait.hpp"

namespace baselines {
namespace memfd_detail {
namespace {

constexpr std::size_t max_notice_descriptors = 4;

// recvmsg after a spin (spin_wait.hpp: as the cma transports wait), retried on EINTR and once on
// ECONNRESET: a SEQPACKET socket whose peer closed with unread packets of its own reports
// ECONNRESET once, before what the peer sent us is read out; what follows is that, then end of
// file.
ssize_t receive_packet(const pipes::fd& socket, msghdr& message, int flags) {
  spin_until_readable(socket.get());
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

// A notice's bytes, scattered into (or gathered from) its two fields: no padding on the wire.
struct notice_iov {
  notice_iov(std::uint64_t& size, std::uint32_t& slot)
      : parts{{&size, sizeof size}, {&slot, sizeof slot}} {}
  static constexpr std::size_t bytes = sizeof(std::uint64_t) + sizeof(std::uint32_t);
  iovec parts[2];
};

}  // namespace

[[noreturn]] void throw_errno(const char* what) {
  throw std::system_error(errno, std::system_category(), std::string("memfd: ") + what);
}

[[noreturn]] void throw_peer_closed() { throw std::runtime_error("peer closed"); }

mapping::mapping(const pipes::fd& file, std::size_t size, int protection, bool prefault) {
  if (size == 0) return;
  void* p =
      ::mmap(nullptr, size, protection, MAP_SHARED | (prefault ? MAP_POPULATE : 0), file.get(), 0);
  if (p == MAP_FAILED) throw_errno("mmap");
  data_ = static_cast<std::byte*>(p);
  size_ = size;
}

mapping::mapping(mapping&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

mapping& mapping::operator=(mapping&& other) noexcept {
  if (this != &other) {
    reset();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

void mapping::reset() noexcept {
  if (data_ != nullptr) ::munmap(data_, size_);
  data_ = nullptr;
  size_ = 0;
}

notice read_notice(const pipes::fd& socket) {
  notice result;
  notice_iov data(result.size, result.slot);
  union {
    cmsghdr align;
    std::byte bytes[CMSG_SPACE(sizeof(int) * 2)];  // room for one descriptor too many, to see it
  } control;
  msghdr message{};
  message.msg_iov = data.parts;
  message.msg_iovlen = 2;
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
  if ((message.msg_flags & MSG_TRUNC) != 0 || n != static_cast<ssize_t>(notice_iov::bytes)) {
    throw std::runtime_error("memfd: malformed notice");
  }
  if (files.size() > 1) throw std::runtime_error("memfd: notice with more than one descriptor");
  if (!files.empty()) result.file = std::move(files.front());
  return result;
}

bool send_notice(const pipes::fd& socket, std::span<const int> descriptors, std::uint64_t size,
                 std::uint32_t slot) {
  if (descriptors.size() > max_notice_descriptors) {
    throw std::invalid_argument("memfd: a notice carries at most 4 descriptors");
  }
  notice_iov data(size, slot);
  union {
    cmsghdr align;
    std::byte bytes[CMSG_SPACE(sizeof(int) * max_notice_descriptors)];
  } control;
  msghdr message{};
  message.msg_iov = data.parts;
  message.msg_iovlen = 2;
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

bool send_acknowledgement(const pipes::fd& socket) {
  std::byte done{1};
  iovec data{&done, 1};
  msghdr message{};
  message.msg_iov = &data;
  message.msg_iovlen = 1;
  return send_packet(socket, message);
}

void await_acknowledgement(const pipes::fd& socket) {
  std::byte done{};
  iovec data{&done, 1};
  msghdr message{};
  message.msg_iov = &data;
  message.msg_iovlen = 1;
  if (receive_packet(socket, message, 0) == 0) throw_peer_closed();
}

std::uint64_t require_seals(const pipes::fd& file, int required, std::uint64_t size) {
  const int seals = ::fcntl(file.get(), F_GET_SEALS);
  if (seals < 0) {
    throw std::runtime_error(std::string("memfd: descriptor is not a memfd (F_GET_SEALS: ") +
                             std::strerror(errno) + ")");
  }
  static constexpr std::pair<int, const char*> names[] = {
      {F_SEAL_WRITE, "writes"},
      {F_SEAL_SHRINK, "shrinking"},
      {F_SEAL_GROW, "growing"},
  };
  for (const auto& [seal, against] : names) {
    if ((required & seal) != 0 && (seals & seal) == 0) {
      throw std::runtime_error(std::string("memfd: descriptor not sealed against ") + against);
    }
  }
  struct stat status {};
  if (::fstat(file.get(), &status) != 0) throw_errno("fstat");
  const auto held = static_cast<std::uint64_t>(status.st_size);
  if (held < size) {
    throw std::runtime_error("memfd: descriptor holds " + std::to_string(held) +
                             " bytes, fewer than the " + std::to_string(size) + " announced");
  }
  return held;
}

}  // namespace memfd_detail

namespace {

// Whether this kernel makes memfds that take `seals`: "" if so, else its reason.
std::string refusal(int seals) {
  const pipes::fd file(::memfd_create("pipebench-memfd-probe", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!file) {
    return std::string("memfd_create refused: ") + std::strerror(errno) +
           " (a kernel older than 3.17, or a seccomp profile)";
  }
  if (::fcntl(file.get(), F_ADD_SEALS, seals) != 0) {
    return std::string("F_ADD_SEALS refused: ") + std::strerror(errno) +
           " (F_SEAL_FUTURE_WRITE needs Linux 5.1)";
  }
  if ((::fcntl(file.get(), F_GET_SEALS) & seals) != seals) {
    return "the seals did not hold (F_GET_SEALS)";
  }
  return "";
}

class memfd_transport final : public Transport {
 public:
  memfd_transport(memfd_channel_opener open_channel, std::string description)
      : open_channel_(open_channel), description_(std::move(description)) {}

  std::unique_ptr<Channel> open(Role role) override {
    if (role == Role::leader) {
      return open_channel_(std::move(to_follower_.first), std::move(to_leader_.second));
    }
    return open_channel_(std::move(to_leader_.first), std::move(to_follower_.second));
  }

  std::string describe() const override { return description_; }

 private:
  memfd_channel_opener open_channel_;
  std::string description_;
  // One socket pair per direction: {the sender's end, the receiver's end}.
  std::pair<pipes::fd, pipes::fd> to_follower_ = pipes::open_socketpair(SOCK_SEQPACKET);
  std::pair<pipes::fd, pipes::fd> to_leader_ = pipes::open_socketpair(SOCK_SEQPACKET);
};

}  // namespace

bool send_memfd_notice(const pipes::fd& socket, std::span<const int> descriptors,
                       std::uint64_t size, std::uint32_t slot) {
  return memfd_detail::send_notice(socket, descriptors, size, slot);
}

std::unique_ptr<Transport> make_memfd_transport(memfd_channel_opener open_channel, int seals,
                                                std::string description) {
  if (const std::string reason = refusal(seals); !reason.empty()) {
    throw unsupported("memfd: " + reason);
  }
  return std::make_unique<memfd_transport>(open_channel, std::move(description));
}

}  // namespace baselines
