// zmq_ipc and zmq_tcp: one ZeroMQ PAIR socket per side, over ipc:// (a socket file in a private
// directory) or tcp://127.0.0.1 (an ephemeral port). ZeroMQ contexts do not survive fork(), so
// the controller only prepares what must be shared (the directory, a pipe on which the follower
// tells the leader its bound endpoint, the lifelines) and each side makes its context in open().
// ZeroMQ has no end-of-file: a side learns that its peer has gone from the lifeline, which it
// polls in zmq_poll together with the socket.
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <zmq.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <system_error>
#include <tuple>
#include <vector>
#include <zmq.hpp>

#include "baselines/transports.hpp"
#include "peer_lifeline.hpp"
#include "unique_name.hpp"

namespace baselines {
namespace {

enum class zmq_kind { ipc, tcp };

// Messages each queue (send and receive side) may hold: about queue_budget bytes' worth, within
// [min_hwm, ZeroMQ's default of 1000]. A fixed 1000 would let 1 GiB pile up at 1 MiB per message.
constexpr std::size_t queue_budget = 4u << 20;
constexpr int min_hwm = 4;
constexpr int max_hwm = 1000;
// How long closing waits to flush what this side sent (the last echo, say) to a live peer.
constexpr int linger_ms = 1000;
// After the lifeline reports the peer gone, how long a receiver still waits for messages the
// peer sent before it went (they may still be on their way through ZeroMQ's I/O thread).
constexpr auto drain_grace = std::chrono::milliseconds(250);
constexpr const char* socket_file_name = "s";

int high_water_mark(std::size_t message_size) {
  const std::size_t by_budget = queue_budget / std::max<std::size_t>(message_size, 1);
  return static_cast<int>(std::clamp<std::size_t>(by_budget, min_hwm, max_hwm));
}

std::string zmq_version_text() {
  int major = 0, minor = 0, patch = 0;
  ::zmq_version(&major, &minor, &patch);
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
}

// cppzmq throws on EINTR (a signal arrived during the call): retried like any interrupted
// system call, so that a signal handler without SA_RESTART cannot fail a transfer.
template <typename Call>
auto retry_interrupted(Call call) {
  for (;;) {
    try {
      return call();
    } catch (const zmq::error_t& e) {
      if (e.num() != EINTR) throw;
    }
  }
}

class zmq_channel final : public Channel {
 public:
  zmq_channel(lifeline peer, zmq::context_t context, zmq::socket_t socket)
      : peer_(std::move(peer)), context_(std::move(context)), socket_(std::move(socket)) {}

  void send(std::span<const std::byte> message) override {
    const zmq::const_buffer buffer(message.data(), message.size());
    while (!retry_interrupted([&] { return socket_.send(buffer, zmq::send_flags::dontwait); })) {
      if (!wait(ZMQ_POLLOUT, -1)) throw std::runtime_error("peer closed");
    }
  }

  // The message stays in ZeroMQ's buffer: no copy into `scratch`.
  std::span<const std::byte> receive(std::span<std::byte>) override {
    while (!retry_interrupted([&] { return socket_.recv(last_, zmq::recv_flags::dontwait); })) {
      if (wait(ZMQ_POLLIN, -1)) continue;
      if (!wait(ZMQ_POLLIN, drain_grace.count(), /*watch_peer=*/false)) {
        throw std::runtime_error("peer closed");
      }
    }
    return {static_cast<const std::byte*>(last_.data()), last_.size()};
  }

  // Proves the connection exists before open() returns (ZeroMQ connects lazily).
  void handshake(Role role) {
    std::byte none[1];
    if (role == Role::leader) {
      send({});
      receive(none);
    } else {
      receive(none);
      send({});
    }
  }

 private:
  // Waits until the socket is ready for `events` (true) or, if `watch_peer`, the peer is gone or,
  // after `timeout_ms` (-1: none), nothing happened (false).
  bool wait(short events, long timeout_ms, bool watch_peer = true) {
    zmq_pollitem_t items[] = {{socket_.handle(), 0, events, 0},
                              {nullptr, peer_.watch_fd(), ZMQ_POLLIN, 0}};
    for (;;) {
      const int n = ::zmq_poll(items, watch_peer ? 2 : 1, timeout_ms);
      if (n < 0) {
        if (::zmq_errno() == EINTR) continue;
        throw zmq::error_t();
      }
      if (items[0].revents != 0) return true;
      return false;  // the peer's lifeline (any event on it is the hang-up) or the timeout
    }
  }

  // Destroyed in reverse: the socket closes, the context flushes (linger), then the lifeline
  // closes, so the peer never sees this side gone before its last messages are on their way.
  lifeline peer_;
  zmq::context_t context_;
  zmq::socket_t socket_;
  zmq::message_t last_;
};

// The follower's bound endpoint, carried to the leader over a pipe made before fork(): the port
// of tcp://127.0.0.1:* is chosen by the kernel at bind, so nothing can take it in between.
void write_endpoint(const pipes::fd& out, const std::string& endpoint) {
  const std::uint32_t size = endpoint.size();
  pipes::write_all(out, std::as_bytes(std::span(&size, 1)));
  pipes::write_all(out, std::as_bytes(std::span(endpoint)));
}

std::string read_endpoint(const pipes::fd& in) {
  std::uint32_t size = 0;
  if (pipes::read_full(in, std::as_writable_bytes(std::span(&size, 1))) != sizeof size ||
      size > 4096) {
    throw std::runtime_error("zmq: no endpoint from the follower");
  }
  std::string endpoint(size, '\0');
  if (pipes::read_full(in, std::as_writable_bytes(std::span(endpoint))) != size) {
    throw std::runtime_error("zmq: truncated endpoint from the follower");
  }
  return endpoint;
}

class zmq_pair final : public Transport {
 public:
  zmq_pair(zmq_kind kind, std::size_t message_size)
      : kind_(kind), hwm_(high_water_mark(message_size)), owner_(::getpid()) {
    if (kind_ == zmq_kind::ipc) make_private_directory();
  }

  ~zmq_pair() override {
    // Only the controller's copy cleans up: a child's copy dies after that child's open(), and
    // by then the follower has removed both already (see open()); this is for failed runs.
    if (::getpid() == owner_) remove_ipc_files();
  }

  std::unique_ptr<Channel> open(Role role) override {
    zmq::context_t context(1);
    zmq::socket_t socket(context, zmq::socket_type::pair);
    socket.set(zmq::sockopt::linger, linger_ms);
    socket.set(zmq::sockopt::sndhwm, hwm_);
    socket.set(zmq::sockopt::rcvhwm, hwm_);
    if (role == Role::follower) {
      socket.bind(kind_ == zmq_kind::ipc ? "ipc://" + socket_path_ : "tcp://127.0.0.1:*");
      if (kind_ == zmq_kind::ipc && ::chmod(socket_path_.c_str(), 0600) != 0) {
        throw std::system_error(errno, std::system_category(), "chmod " + socket_path_);
      }
      write_endpoint(endpoint_.write_end, socket.get(zmq::sockopt::last_endpoint));
    } else {
      socket.connect(read_endpoint(endpoint_.read_end));
    }
    auto channel =
        std::make_unique<zmq_channel>(lifelines_.take(role), std::move(context), std::move(socket));
    channel->handshake(role);
    // Connected: the socket file and its directory are no longer needed by anyone.
    if (role == Role::follower) remove_ipc_files();
    return channel;
  }

  std::string describe() const override {
    return "ZeroMQ " + zmq_version_text() + " PAIR over " +
           (kind_ == zmq_kind::ipc
                ? std::string("ipc:// (socket file in a private 0700 directory, removed once "
                              "connected)")
                : std::string("tcp://127.0.0.1:<ephemeral> (libzmq sets TCP_NODELAY)")) +
           "; context (1 I/O thread) made in open() after fork; SNDHWM = RCVHWM = " +
           std::to_string(hwm_) + " messages (about " + std::to_string(queue_budget >> 20) +
           " MiB, within [" + std::to_string(min_hwm) + ", " + std::to_string(max_hwm) +
           "]); SO_SNDBUF/SO_RCVBUF kernel default; linger " + std::to_string(linger_ms) +
           " ms; send copies into a zmq message (dontwait, then zmq_poll); receive returns the "
           "zmq message in place; peer death: lifeline pipe in the same zmq_poll";
  }

 private:
  void make_private_directory() {
    // mkdtemp creates it 0700, atomically; the 128-bit prefix makes the name unguessable.
    const auto base = std::filesystem::temp_directory_path() / unique_name("pipebench-zmq-");
    std::string path = base.string() + "XXXXXX";
    if (::mkdtemp(path.data()) == nullptr) {
      throw std::system_error(errno, std::system_category(), "mkdtemp " + path);
    }
    dir_ = path;
    socket_path_ = dir_ + "/" + socket_file_name;
    report_created(named_resource::directory, dir_);
    if (socket_path_.size() >= sizeof(sockaddr_un::sun_path)) {
      remove_ipc_files();
      throw unsupported("zmq_ipc: the socket path " + socket_path_ +
                        " is too long for AF_UNIX; set TMPDIR to a shorter directory");
    }
  }

  void remove_ipc_files() noexcept {
    if (dir_.empty()) return;
    ::unlink(socket_path_.c_str());
    ::rmdir(dir_.c_str());
  }

  zmq_kind kind_;
  int hwm_;
  pid_t owner_;
  std::string dir_, socket_path_;                  // ipc only
  pipes::pipe_fds endpoint_ = pipes::open_pipe();  // follower -> leader: the bound endpoint
  lifeline_pair lifelines_;
};

}  // namespace

std::unique_ptr<Transport> make_zmq_ipc(const TransportParams& params) {
  return std::make_unique<zmq_pair>(zmq_kind::ipc, params.message_size);
}

std::unique_ptr<Transport> make_zmq_tcp(const TransportParams& params) {
  return std::make_unique<zmq_pair>(zmq_kind::tcp, params.message_size);
}

}  // namespace baselines
