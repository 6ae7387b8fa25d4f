#include "baselines/tcp_endpoint.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <charconv>
#include <stdexcept>
#include <system_error>

namespace baselines {
namespace {

[[noreturn]] void throw_errno(const std::string& what) {
  throw std::system_error(errno, std::system_category(), what);
}

// `to` as a socket address, numeric only: names are resolved once, by numeric_host.
sockaddr_storage socket_address(const tcp_endpoint& to, socklen_t& length) {
  sockaddr_storage address{};
  auto* v4 = reinterpret_cast<sockaddr_in*>(&address);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&address);
  if (::inet_pton(AF_INET, to.host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(to.port);
    length = sizeof *v4;
  } else if (::inet_pton(AF_INET6, to.host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(to.port);
    length = sizeof *v6;
  } else {
    throw std::invalid_argument("not a numeric address: " + to.host);
  }
  return address;
}

}  // namespace

std::string tcp_endpoint::text() const {
  const std::string shown = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return shown + ":" + std::to_string(port);
}

tcp_endpoint parse_tcp_endpoint(std::string_view text, std::uint16_t default_port) {
  tcp_endpoint endpoint{.host = {}, .port = default_port};
  std::string_view port_text;
  if (text.starts_with('[')) {
    const auto close = text.find(']');
    if (close == std::string_view::npos)
      throw std::invalid_argument("no ']' in " + std::string(text));
    endpoint.host = text.substr(1, close - 1);
    const auto rest = text.substr(close + 1);
    if (!rest.empty() && rest[0] != ':')
      throw std::invalid_argument("bad address: " + std::string(text));
    if (!rest.empty()) port_text = rest.substr(1);
  } else if (const auto colon = text.rfind(':'); colon != std::string_view::npos) {
    endpoint.host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
  } else {
    endpoint.host = text;
  }
  if (endpoint.host.empty()) throw std::invalid_argument("no host in " + std::string(text));
  if (!port_text.empty() || text.ends_with(':')) {
    unsigned value = 0;
    const auto [end, ec] =
        std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || value > 65535) {
      throw std::invalid_argument("bad port in " + std::string(text));
    }
    endpoint.port = static_cast<std::uint16_t>(value);
  }
  return endpoint;
}

std::string numeric_host(const std::string& name) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (const int rc = ::getaddrinfo(name.c_str(), nullptr, &hints, &found); rc != 0) {
    throw std::runtime_error("cannot resolve " + name + ": " + ::gai_strerror(rc));
  }
  char text[INET6_ADDRSTRLEN] = {};
  const sockaddr* a = found->ai_addr;
  const void* raw =
      a->sa_family == AF_INET6
          ? static_cast<const void*>(&reinterpret_cast<const sockaddr_in6*>(a)->sin6_addr)
          : static_cast<const void*>(&reinterpret_cast<const sockaddr_in*>(a)->sin_addr);
  ::inet_ntop(a->sa_family, raw, text, sizeof text);
  ::freeaddrinfo(found);
  return text;
}

pipes::fd connect_tcp(const tcp_endpoint& to, std::chrono::milliseconds timeout) {
  socklen_t length = 0;
  const sockaddr_storage address = socket_address(to, length);
  pipes::fd s(::socket(address.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!s) throw_errno("socket");
  const std::string where = "connect " + to.text();
  if (::connect(s.get(), reinterpret_cast<const sockaddr*>(&address), length) != 0) {
    if (errno != EINPROGRESS) throw_errno(where);
    pollfd p{s.get(), POLLOUT, 0};
    int n = 0;
    while ((n = ::poll(&p, 1, static_cast<int>(timeout.count()))) < 0 && errno == EINTR) {
    }
    if (n < 0) throw_errno(where);
    if (n == 0) throw std::system_error(ETIMEDOUT, std::system_category(), where);
    int error = 0;
    socklen_t size = sizeof error;
    if (::getsockopt(s.get(), SOL_SOCKET, SO_ERROR, &error, &size) != 0) throw_errno(where);
    if (error != 0) throw std::system_error(error, std::system_category(), where);
  }
  // Blocking again: the channels built on it block, as every other transport's do.
  if (::fcntl(s.get(), F_SETFL, ::fcntl(s.get(), F_GETFL) & ~O_NONBLOCK) != 0) throw_errno("fcntl");
  set_nodelay(s);
  return s;
}

pipes::fd listen_tcp(const tcp_endpoint& at, int backlog) {
  socklen_t length = 0;
  const sockaddr_storage address = socket_address(at, length);
  pipes::fd s(::socket(address.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!s) throw_errno("socket");
  const int on = 1;
  // A restarted peer can listen again at once, while its last connections are in TIME_WAIT.
  ::setsockopt(s.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  if (::bind(s.get(), reinterpret_cast<const sockaddr*>(&address), length) != 0) {
    throw_errno("bind " + at.text());
  }
  if (::listen(s.get(), backlog) != 0) throw_errno("listen " + at.text());
  return s;
}

tcp_endpoint local_endpoint(int socket) {
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  if (::getsockname(socket, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    throw_errno("getsockname");
  }
  char text[INET6_ADDRSTRLEN] = {};
  if (address.ss_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&address);
    ::inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof text);
    return {text, ntohs(v6->sin6_port)};
  }
  const auto* v4 = reinterpret_cast<const sockaddr_in*>(&address);
  ::inet_ntop(AF_INET, &v4->sin_addr, text, sizeof text);
  return {text, ntohs(v4->sin_port)};
}

void set_nodelay(const pipes::fd& socket) {
  const int on = 1;
  if (::setsockopt(socket.get(), IPPROTO_TCP, TCP_NODELAY, &on, sizeof on) != 0) {
    throw_errno("TCP_NODELAY");
  }
}

}  // namespace baselines
