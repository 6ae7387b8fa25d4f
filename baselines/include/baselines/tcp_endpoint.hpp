// TCP addresses for the transports that reach another host (tcp, zmq_tcp) and for the harness's
// control connection to pipebench-peer: one place that parses, resolves, connects and prints
// them, IPv4 and IPv6 alike.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "pipes/fd.hpp"

namespace baselines {

struct tcp_endpoint {
  std::string host;  // a numeric address once resolved ("10.0.0.2", "fe80::1"), else a name
  std::uint16_t port = 0;

  // "10.0.0.2:7878", "[fe80::1]:7878": how a user writes it, and how ZeroMQ wants it after
  // "tcp://".
  std::string text() const;
};

// Parses "HOST:PORT", "[V6]:PORT", or "HOST" alone (then `default_port`). Throws
// std::invalid_argument on a malformed one.
tcp_endpoint parse_tcp_endpoint(std::string_view text, std::uint16_t default_port);

// `name` resolved to a numeric address (the first that getaddrinfo gives). Throws
// std::runtime_error when it cannot be resolved.
std::string numeric_host(const std::string& name);

// A TCP socket connected to the numeric `to`, with TCP_NODELAY, within `timeout` (a host that
// has vanished would otherwise hold connect() for minutes of SYN retries). Throws
// std::system_error.
pipes::fd connect_tcp(const tcp_endpoint& to, std::chrono::milliseconds timeout);

// A TCP socket bound to `at` (port 0: an ephemeral one) and listening, close-on-exec.
pipes::fd listen_tcp(const tcp_endpoint& at, int backlog);

// The numeric address and port a socket is bound to (getsockname).
tcp_endpoint local_endpoint(int socket);

// Sets TCP_NODELAY, as every latency-minded user does. Throws std::system_error.
void set_nodelay(const pipes::fd& socket);

}  // namespace baselines
