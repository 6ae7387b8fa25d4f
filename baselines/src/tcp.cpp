// tcp: one TCP connection over the loopback interface, framed as Python frames: what a user who
// outgrows one host starts from (issue 14), measured here on one. TCP_NODELAY on both ends, as
// every latency-minded user sets it; the buffers are left to the kernel's autotuning (tcp_rmem /
// tcp_wmem), since setting SO_SNDBUF or SO_RCVBUF turns autotuning off and caps them at
// rmem_max / wmem_max, which is what a tuned user avoids. The connection is made before fork():
// a listener on 127.0.0.1, an ephemeral port, one connect and one accept, then the listener is
// closed, so no port stays open and nothing but loopback is ever touched.
// Between two hosts (TransportParams::remote) the follower accepts the leader on the listener
// pipebench-peer made and the leader connects to it, before fork() as here; the role on the
// other host is a stand-in on this one (stand_in.hpp). Same options, same framing.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <fstream>
#include <string>
#include <system_error>

#include "baselines/python_framed_stream.hpp"
#include "baselines/tcp_endpoint.hpp"
#include "baselines/transports.hpp"
#include "stand_in.hpp"

namespace baselines {
namespace {

[[noreturn]] void throw_errno(const char* what) {
  throw std::system_error(errno, std::system_category(), std::string("tcp: ") + what);
}

pipes::fd tcp_socket() {
  pipes::fd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!s) throw_errno("socket");
  return s;
}

// The kernel's autotuning range for one direction, "min default max" bytes, for the label.
std::string autotuning(const char* path) {
  std::ifstream in(path);
  std::string min, initial, max;
  if (!(in >> min >> initial >> max)) return "unknown";
  return initial + " B growing to " + max + " B";
}

// How both kinds are configured, as their labels say it.
std::string options_text() {
  return "TCP_NODELAY, buffers autotuned by the kernel (send " +
         autotuning("/proc/sys/net/ipv4/tcp_wmem") + ", receive " +
         autotuning("/proc/sys/net/ipv4/tcp_rmem") + "), Python framing";
}

std::unique_ptr<Channel> framed(pipes::fd end) {
  pipes::fd copy = pipes::duplicate(end);
  return make_python_framed_stream(std::move(end), std::move(copy));
}

class loopback_tcp final : public Transport {
 public:
  loopback_tcp() {
    pipes::fd listener = tcp_socket();
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;  // ephemeral
    socklen_t length = sizeof address;
    if (::bind(listener.get(), reinterpret_cast<sockaddr*>(&address), length) != 0) {
      throw_errno("bind 127.0.0.1");
    }
    if (::listen(listener.get(), 1) != 0) throw_errno("listen");
    if (::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      throw_errno("getsockname");
    }
    leader_end_ = tcp_socket();
    if (::connect(leader_end_.get(), reinterpret_cast<sockaddr*>(&address), length) != 0) {
      throw_errno("connect 127.0.0.1");
    }
    follower_end_ = pipes::fd(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!follower_end_) throw_errno("accept");
    set_nodelay(leader_end_);
    set_nodelay(follower_end_);
  }

  std::unique_ptr<Channel> open(Role role) override {
    return framed(std::move(role == Role::leader ? leader_end_ : follower_end_));
  }

  std::string describe() const override {
    return "TCP over 127.0.0.1 (one connection made before fork, listener closed), " +
           options_text();
  }

 private:
  pipes::fd leader_end_, follower_end_;
};

// How long the leader may take to reach the follower's host.
constexpr auto connect_timeout = std::chrono::seconds(10);

class remote_tcp final : public Transport {
 public:
  explicit remote_tcp(RemoteSide remote) : remote_(std::move(remote)) {
    if (remote_.here == Role::leader) {
      end_ = connect_tcp({remote_.host, remote_.port}, connect_timeout);
    }
  }

  std::unique_ptr<Channel> open(Role role) override {
    if (role != remote_.here) return std::make_unique<stand_in_channel>();
    if (role == Role::follower) {
      end_ = pipes::fd(::accept4(remote_.listener, nullptr, nullptr, SOCK_CLOEXEC));
      if (!end_) throw_errno("accept");
      set_nodelay(end_);
    }
    return framed(std::move(end_));
  }

  std::string describe() const override {
    return (remote_.here == Role::leader
                ? "TCP to " + tcp_endpoint{remote_.host, remote_.port}.text() +
                      ", the follower on another host"
                : std::string("TCP accepted from the leader on another host")) +
           " (one connection per run), " + options_text();
  }

 private:
  RemoteSide remote_;
  pipes::fd end_;  // the leader's, connected before fork; the follower's, accepted in open()
};

}  // namespace

std::unique_ptr<Transport> make_tcp(const TransportParams& params) {
  if (params.remote) return std::make_unique<remote_tcp>(*params.remote);
  return std::make_unique<loopback_tcp>();
}

}  // namespace baselines
