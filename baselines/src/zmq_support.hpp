// What the ZeroMQ transports share (zmq_pair.cpp, fan_zmq_ipc.cpp): queue limits, retrying
// interrupted calls, and the private directory that holds an ipc:// socket file.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <string>
#include <zmq.hpp>

namespace baselines {

// Messages each queue (send and receive side) may hold: about zmq_queue_budget bytes' worth,
// within [zmq_min_hwm, ZeroMQ's default of 1000]. A fixed 1000 would let 1 GiB pile up at 1 MiB
// per message.
inline constexpr std::size_t zmq_queue_budget = 4u << 20;
inline constexpr int zmq_min_hwm = 4;
inline constexpr int zmq_max_hwm = 1000;
int zmq_high_water_mark(std::size_t message_size);

// How long closing waits to flush what this side sent (the last echo, say) to a live peer.
inline constexpr int zmq_linger_ms = 1000;
// After a peer is seen gone, how long a receiver still waits for messages the peer sent before
// it went (they may still be on their way through ZeroMQ's I/O thread).
inline constexpr auto zmq_drain_grace = std::chrono::milliseconds(250);

std::string zmq_version_text();

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

// zmq_poll, retried on EINTR; returns how many items are ready (0 on timeout).
int zmq_poll_retrying(zmq_pollitem_t* items, int count, long timeout_ms);

// A private 0700 directory (unguessable name, under TMPDIR) for one ipc:// socket file, made
// by the controller before fork(). remove() is for whoever knows that every peer is connected;
// the destructor removes it too, but only in the process that made it (a child's copy dies
// after that child's open()), for runs that failed before anyone connected.
class ipc_directory {
 public:
  // Throws baselines::unsupported if the socket path is too long for AF_UNIX.
  explicit ipc_directory(const char* transport);
  ipc_directory(ipc_directory&& other) noexcept;
  ipc_directory& operator=(ipc_directory&&) = delete;
  ~ipc_directory();

  // "ipc://" and the socket file's path.
  std::string endpoint() const { return "ipc://" + socket_path_; }
  // Makes the bound socket file owner-only (ZeroMQ creates it with the umask's mode).
  void restrict_socket_file() const;
  void remove() noexcept;

 private:
  pid_t owner_;
  std::string dir_, socket_path_;
};

}  // namespace baselines
