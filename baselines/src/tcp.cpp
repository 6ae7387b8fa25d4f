// tcp: one TCP connection over the loopback interface, framed as Python frames: what a user who
// outgrows one host starts from (issue 14), measured here on one. TCP_NODELAY on both ends, as
// every latency-minded user sets it; the buffers are left to the kernel's autotuning (tcp_rmem /
// tcp_wmem), since setting SO_SNDBUF or SO_RCVBUF turns autotuning off and caps them at
// rmem_max / wmem_max, which is what a tuned user avoids. The connection is made before fork():
// a listener on 127.0.0.1, an ephemeral port, one connect and one accept, then the listener is
// closed, so no port stays open and nothing but loopback is ever touched.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>
#include <fstream>
#include <string>
#include <system_error>

#include "baselines/python_framed_stream.hpp"
#include "baselines/transports.hpp"

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

void set_nodelay(const pipes::fd& s) {
  const int on = 1;
  if (::setsockopt(s.get(), IPPROTO_TCP, TCP_NODELAY, &on, sizeof on) != 0) {
    throw_errno("TCP_NODELAY");
  }
}

// The kernel's autotuning range for one direction, "min default max" bytes, for the label.
std::string autotuning(const char* path) {
  std::ifstream in(path);
  std::string min, initial, max;
  if (!(in >> min >> initial >> max)) return "unknown";
  return initial + " B growing to " + max + " B";
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
    pipes::fd& end = role == Role::leader ? leader_end_ : follower_end_;
    pipes::fd copy = pipes::duplicate(end);
    return make_python_framed_stream(std::move(end), std::move(copy));
  }

  std::string describe() const override {
    return "TCP over 127.0.0.1 (one connection made before fork, listener closed), TCP_NODELAY, "
           "buffers autotuned by the kernel (send " +
           autotuning("/proc/sys/net/ipv4/tcp_wmem") + ", receive " +
           autotuning("/proc/sys/net/ipv4/tcp_rmem") + "), Python framing";
  }

 private:
  pipes::fd leader_end_, follower_end_;
};

}  // namespace

std::unique_ptr<Transport> make_tcp(const TransportParams&) {
  return std::make_unique<loopback_tcp>();
}

}  // namespace baselines
