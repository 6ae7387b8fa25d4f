// The one concept every transport implements, so that the harness can drive any of them.
//
// A transport is used in two steps because some cannot survive fork() (a ZeroMQ context):
//   1. In the controlling process, before fork(), a Transport is made: it creates whatever must
//      be shared (pipes, sockets, a shared-memory mapping, an unlinked queue).
//   2. In each child, after fork(), `open(role)` returns that side's Channel. The child then
//      destroys its copy of the Transport, which closes what that side does not use, so that
//      the death of one side is seen by the other as EOF or EPIPE.
// The controller destroys its own copy once both children have opened their sides.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>

namespace baselines {

enum class Role {
  leader,    // sends first: the throughput sender and the latency pinger
  follower,  // receives first: the throughput receiver and the latency echoer
};

// One side of an open connection that carries whole messages, in order, in both directions.
// Every call blocks until done and throws std::system_error (or std::runtime_error) on failure;
// a peer that has gone away is an error, never a silent return.
class Channel {
 public:
  virtual ~Channel() = default;

  // Sends one message.
  virtual void send(std::span<const std::byte> message) = 0;

  // Receives one message. Returns a view of it that stays valid until the next call on this
  // channel: either a prefix of `scratch` or, for a zero-copy transport, the transport's own
  // memory. Throws if the message is larger than `scratch` and the transport must copy.
  virtual std::span<const std::byte> receive(std::span<std::byte> scratch) = 0;

  // Zero-copy senders (a loan from the transport's own memory) return a writable span of
  // `size` bytes that `commit_loan()` then sends; the default says loans are not supported.
  virtual std::optional<std::span<std::byte>> loan(std::size_t /*size*/) { return std::nullopt; }
  // The loan's first `filled` bytes are final: a channel that can may start sending them while
  // the rest is built. The default waits for commit_loan().
  virtual void loan_filled(std::size_t /*filled*/) {}
  virtual void commit_loan() {}

  // Sends whatever a batching channel is still holding. The workloads call it after the last
  // message of a stream; a channel that sends each message at once has nothing to do.
  virtual void flush() {}
};

// Created in the controlling process before fork(); see the top of this file.
class Transport {
 public:
  virtual ~Transport() = default;

  // Called once in a child after fork(): returns that role's side of the connection.
  virtual std::unique_ptr<Channel> open(Role role) = 0;

  // A human-readable account of the configuration as made (buffer sizes actually got, chunking,
  // wake-up method). The harness writes it into every result row (Google Benchmark's label), so
  // that each number carries what produced it.
  virtual std::string describe() const = 0;

  // For transports built on kernel pipes: the bytes each pipe holds, as read back from the
  // kernel (F_GETPIPE_SZ), which may be less than was asked. Recorded with the results.
  virtual std::optional<std::size_t> pipe_capacity() const { return std::nullopt; }
};

// Thrown by a transport's factory when it cannot carry what is asked (a message larger than
// the system's queue limits allow, say): the harness skips that benchmark with the reason.
class unsupported : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A run whose two roles are on two hosts (pipebench --remote-peer with pipebench-peer): each
// host makes the transport with this and opens both roles, the other host's only as a stand-in,
// a process that represents that side here (it holds whatever tells this side its peer has gone)
// and never sends or receives. Only transports that reach another host honour it (tcp, zmq_tcp;
// the harness runs no other remotely).
struct RemoteSide {
  Role here = Role::leader;  // the role this host runs for real
  // here == follower: a bound, listening TCP socket on which the follower accepts the leader
  // (borrowed: the caller keeps it open until the follower's open() has returned).
  int listener = -1;
  // here == leader: the follower's numeric address and port.
  std::string host = {};
  std::uint16_t port = 0;
};

// What a transport is told when it is made.
struct TransportParams {
  std::size_t message_size = 0;                     // the largest message the run will send
  std::optional<RemoteSide> remote = std::nullopt;  // unset: both roles on this host
};

}  // namespace baselines
