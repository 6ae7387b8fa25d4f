// zmq_ipc and zmq_tcp: one ZeroMQ PAIR socket per side, over ipc:// (a socket file in a private
// directory) or tcp://127.0.0.1 (an ephemeral port). ZeroMQ contexts do not survive fork(), so
// the controller only prepares what must be shared (the directory, a pipe on which the follower
// tells the leader its bound endpoint, the lifelines) and each side makes its context in open().
// ZeroMQ has no end-of-file: a side learns that its peer has gone from the lifeline, which it
// polls in zmq_poll together with the socket.
// zmq_tcp between two hosts (TransportParams::remote): the follower binds on the listener
// pipebench-peer made (ZMQ_USE_FD), the leader connects to it; the role on the other host is a
// stand-in here that holds that role's lifeline end (stand_in.hpp).
#include <zmq.h>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <zmq.hpp>

#include "baselines/tcp_endpoint.hpp"
#include "baselines/transports.hpp"
#include "peer_lifeline.hpp"
#include "stand_in.hpp"
#include "zmq_support.hpp"

namespace baselines {
namespace {

enum class zmq_kind { ipc, tcp };

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
      if (!wait(ZMQ_POLLIN, zmq_drain_grace.count(), /*watch_peer=*/false)) {
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
    zmq_poll_retrying(items, watch_peer ? 2 : 1, timeout_ms);
    // Otherwise the peer's lifeline (any event on it is the hang-up) or the timeout.
    return items[0].revents != 0;
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
  zmq_pair(zmq_kind kind, std::size_t message_size, std::optional<RemoteSide> remote = {})
      : kind_(kind), hwm_(zmq_high_water_mark(message_size)), remote_(std::move(remote)) {
    if (kind_ == zmq_kind::ipc) ipc_dir_.emplace("zmq_ipc");
  }

  std::unique_ptr<Channel> open(Role role) override {
    if (remote_ && role != remote_->here) {
      return std::make_unique<stand_in_channel>(lifelines_.take(role));
    }
    zmq::context_t context(1);
    zmq::socket_t socket(context, zmq::socket_type::pair);
    socket.set(zmq::sockopt::linger, zmq_linger_ms);
    socket.set(zmq::sockopt::sndhwm, hwm_);
    socket.set(zmq::sockopt::rcvhwm, hwm_);
    if (remote_) {
      reach_other_host(socket, role);
    } else if (role == Role::follower) {
      socket.bind(ipc_dir_ ? ipc_dir_->endpoint() : "tcp://127.0.0.1:*");
      if (ipc_dir_) ipc_dir_->restrict_socket_file();
      write_endpoint(endpoint_.write_end, socket.get(zmq::sockopt::last_endpoint));
    } else {
      socket.connect(read_endpoint(endpoint_.read_end));
    }
    auto channel =
        std::make_unique<zmq_channel>(lifelines_.take(role), std::move(context), std::move(socket));
    channel->handshake(role);
    // Connected: the socket file and its directory are no longer needed by anyone.
    if (role == Role::follower && ipc_dir_) ipc_dir_->remove();
    return channel;
  }

  std::string describe() const override {
    return "ZeroMQ " + zmq_version_text() + " PAIR over " +
           (kind_ == zmq_kind::ipc
                ? std::string("ipc:// (socket file in a private 0700 directory, removed once "
                              "connected)")
                : "tcp://" + tcp_text() + " (libzmq sets TCP_NODELAY)") +
           "; context (1 I/O thread) made in open() after fork; SNDHWM = RCVHWM = " +
           std::to_string(hwm_) + " messages (about " + std::to_string(zmq_queue_budget >> 20) +
           " MiB, within [" + std::to_string(zmq_min_hwm) + ", " + std::to_string(zmq_max_hwm) +
           "]); SO_SNDBUF/SO_RCVBUF kernel default; linger " + std::to_string(zmq_linger_ms) +
           " ms; send copies into a zmq message (dontwait, then zmq_poll); receive returns the "
           "zmq message in place; peer death: lifeline pipe in the same zmq_poll";
  }

 private:
  // Between two hosts: ZeroMQ takes pipebench-peer's listener as made (ZMQ_USE_FD), so its port
  // was known before fork and told to the leader's host.
  void reach_other_host(zmq::socket_t& socket, Role role) const {
    const tcp_endpoint at = role == Role::follower ? local_endpoint(remote_->listener)
                                                   : tcp_endpoint{remote_->host, remote_->port};
    if (at.host.find(':') != std::string::npos) socket.set(zmq::sockopt::ipv6, 1);
    if (role == Role::leader) return socket.connect("tcp://" + at.text());
    socket.set(zmq::sockopt::use_fd, remote_->listener);
    socket.bind("tcp://" + at.text());
  }

  std::string tcp_text() const {
    if (!remote_) return "127.0.0.1:<ephemeral>";
    if (remote_->here == Role::follower) {
      return local_endpoint(remote_->listener).text() + ", the leader on another host";
    }
    return tcp_endpoint{remote_->host, remote_->port}.text() + ", the follower on another host";
  }

  zmq_kind kind_;
  int hwm_;
  std::optional<ipc_directory> ipc_dir_;           // ipc only
  pipes::pipe_fds endpoint_ = pipes::open_pipe();  // follower -> leader: the bound endpoint
  lifeline_pair lifelines_;
  std::optional<RemoteSide> remote_;
};

}  // namespace

std::unique_ptr<Transport> make_zmq_ipc(const TransportParams& params) {
  return std::make_unique<zmq_pair>(zmq_kind::ipc, params.message_size);
}

std::unique_ptr<Transport> make_zmq_tcp(const TransportParams& params) {
  return std::make_unique<zmq_pair>(zmq_kind::tcp, params.message_size, params.remote);
}

}  // namespace baselines
