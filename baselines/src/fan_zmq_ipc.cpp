// zmq_ipc's worker pool: ZeroMQ PUSH/PULL over ipc:// (a socket file in a private directory, as
// zmq_pair.cpp). fanout: the hub's PUSH binds and the workers' PULLs connect; PUSH deals each
// message to the next connected worker with room below its high-water mark. fanin: the hub's
// PULL binds and the workers' PUSHes connect; PULL queues fairly among them. Each process makes
// its context in open_hub/open_worker (contexts do not survive fork()).
//
// Connections: a worker's open_worker returns once its connection has finished ZeroMQ's
// handshake; the hub, before its first message, waits until it has seen W handshakes, so that
// the first messages are dealt to all W workers, and then removes the socket file.
//
// End of stream (fanout). PUSH skips a worker whose queue is full, so W empty messages do not
// reach W workers for sure. A worker that takes an empty message says so on a pipe made before
// fork() (its index); the hub sends empty messages, one per worker still to report, and again
// after each wait without reports (10 ms, doubling to 100 ms), until all W have reported.
// Workers stop at the first: extra empty messages are dropped with the sockets.
//
// Peer death, through a lifeline per worker polled in the same zmq_poll as the socket: a worker
// fails with "peer closed" once the hub is gone and nothing arrived for zmq_drain_grace; the hub
// fails when a worker goes before it has taken its end (fanout), or when more workers have gone
// than end markers arrived and nothing arrives for zmq_drain_grace (fanin).
#include <poll.h>
#include <zmq.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>
#include <zmq.hpp>

#include "baselines/fan_transports.hpp"
#include "peer_lifeline.hpp"
#include "pipes/fd.hpp"
#include "zmq_support.hpp"

namespace baselines {
namespace {

constexpr auto first_end_wait = std::chrono::milliseconds(10);
constexpr auto last_end_wait = std::chrono::milliseconds(100);
constexpr const char* monitor_endpoint = "inproc://handshakes";

std::runtime_error worker_closed(std::size_t index) {
  return std::runtime_error("worker " + std::to_string(index) + " closed before its end of stream");
}

void set_queue_options(zmq::socket_t& socket, int hwm) {
  socket.set(zmq::sockopt::linger, zmq_linger_ms);
  socket.set(zmq::sockopt::sndhwm, hwm);
  socket.set(zmq::sockopt::rcvhwm, hwm);
}

// Counts the ZeroMQ handshakes completed on a socket (zmq_socket_monitor), set up before the
// socket binds or connects so that none is missed.
class handshake_monitor {
 public:
  handshake_monitor(zmq::context_t& context, zmq::socket_t& socket)
      : pair_(context, zmq::socket_type::pair) {
    if (::zmq_socket_monitor(socket.handle(), monitor_endpoint, ZMQ_EVENT_HANDSHAKE_SUCCEEDED) !=
        0) {
      throw zmq::error_t();
    }
    pair_.connect(monitor_endpoint);
  }

  void* handle() noexcept { return pair_.handle(); }

  // Takes the events waiting, without blocking; returns how many were handshakes.
  std::size_t take_events() {
    std::size_t handshakes = 0;
    zmq::message_t frame;
    while (retry_interrupted([&] { return pair_.recv(frame, zmq::recv_flags::dontwait); })) {
      std::uint16_t event = 0;
      if (frame.size() >= sizeof event) std::memcpy(&event, frame.data(), sizeof event);
      if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) ++handshakes;
      while (frame.more()) retry_interrupted([&] { return pair_.recv(frame); });  // the address
    }
    return handshakes;
  }

 private:
  zmq::socket_t pair_;
};

class zmq_hub final : public HubChannel {
 public:
  zmq_hub(zmq::context_t context, zmq::socket_t socket, std::optional<handshake_monitor> monitor,
          ipc_directory dir, std::vector<lifeline> workers, pipes::fd done, bool fanin)
      : fanin_(fanin),
        workers_(std::move(workers)),
        done_(std::move(done)),
        dir_(std::move(dir)),
        context_(std::move(context)),
        socket_(std::move(socket)),
        monitor_(std::move(monitor)),
        gone_(workers_.size(), false),
        ended_(workers_.size(), false) {}

  ~zmq_hub() override {
    monitor_.reset();  // its socket first: the context waits for every socket to close
  }

  void send(std::span<const std::byte> message) override {
    await_connections();
    const zmq::const_buffer buffer(message.data(), message.size());
    while (!retry_interrupted([&] { return socket_.send(buffer, zmq::send_flags::dontwait); })) {
      wait(ZMQ_POLLOUT, -1);
    }
  }

  void send_end() override {
    await_connections();
    auto pause = first_end_wait;
    for (;;) {
      const std::size_t missing = std::count(ended_.begin(), ended_.end(), false);
      if (missing == 0) break;
      for (std::size_t i = 0; i < missing; ++i) send({});
      const std::size_t before = ended_count();
      wait(0, pause.count());  // only reports and lifelines
      if (ended_count() == before) pause = std::min(pause * 2, last_end_wait);
    }
    // Every worker has taken its end, so everything before it: nothing left worth lingering for.
    socket_.set(zmq::sockopt::linger, 0);
  }

  // The message stays in ZeroMQ's buffer: no copy into `scratch`.
  std::span<const std::byte> receive(std::span<std::byte>) override {
    await_connections();
    while (!retry_interrupted([&] { return socket_.recv(last_, zmq::recv_flags::dontwait); })) {
      wait(ZMQ_POLLIN, -1);
    }
    if (last_.size() == 0) ++markers_seen_;
    return {static_cast<const std::byte*>(last_.data()), last_.size()};
  }

 private:
  std::size_t ended_count() const { return std::count(ended_.begin(), ended_.end(), true); }
  std::size_t gone_count() const { return std::count(gone_.begin(), gone_.end(), true); }

  // Before the first message: W handshakes, then the socket file is no longer needed. A fanin
  // worker may already have sent everything and gone: once one has, the others get
  // zmq_drain_grace to finish theirs (a worker that died unconnected is then seen missing by
  // receive()).
  void await_connections() {
    if (!monitor_) return;
    std::size_t connected = 0;
    std::optional<std::chrono::steady_clock::time_point> give_up;
    for (;;) {
      connected += monitor_->take_events();
      if (connected >= workers_.size()) break;
      long timeout_ms = -1;
      if (give_up) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            *give_up - std::chrono::steady_clock::now());
        if (left.count() <= 0) break;
        timeout_ms = left.count();
      }
      std::vector<zmq_pollitem_t> items{{monitor_->handle(), 0, ZMQ_POLLIN, 0}};
      for (std::size_t i = 0; i < workers_.size(); ++i) {
        const int fd = gone_[i] ? -1 : workers_[i].watch_fd();  // poll() ignores -1
        items.push_back({nullptr, fd, ZMQ_POLLIN, 0});
      }
      zmq_poll_retrying(items.data(), static_cast<int>(items.size()), timeout_ms);
      for (std::size_t i = 0; i < workers_.size(); ++i) {
        if (items[i + 1].revents == 0) continue;
        if (fanin_) {
          gone_[i] = true;
          if (!give_up) give_up = std::chrono::steady_clock::now() + zmq_drain_grace;
        } else {
          throw worker_closed(i);  // fanout: gone before anything was sent
        }
      }
    }
    ::zmq_socket_monitor(socket_.handle(), nullptr, 0);
    monitor_.reset();
    dir_.remove();
  }

  // Reads the end reports waiting on the done pipe (fanout), without blocking.
  void take_reports() {
    if (!done_) return;
    for (;;) {
      pollfd p{done_.get(), POLLIN, 0};
      if (::poll(&p, 1, 0) <= 0) return;
      std::uint32_t index = 0;
      if (pipes::read_full(done_, std::as_writable_bytes(std::span(&index, 1))) != sizeof index) {
        done_ = pipes::fd();  // every worker has closed it
        return;
      }
      if (index < ended_.size()) ended_[index] = true;
    }
  }

  // Waits until the socket is ready for `events` (none: only until `timeout_ms` passes), taking
  // end reports and lifeline hang-ups meanwhile; throws once waiting is hopeless.
  void wait(short events, long timeout_ms) {
    if (events == ZMQ_POLLIN && gone_count() > markers_seen_) {
      drain_or_throw();
      return;
    }
    std::vector<zmq_pollitem_t> items{{socket_.handle(), 0, events, 0}};
    if (done_) items.push_back({nullptr, done_.get(), ZMQ_POLLIN, 0});
    const std::size_t first_worker = items.size();
    std::vector<std::size_t> watched;
    for (std::size_t i = 0; i < workers_.size(); ++i) {
      if (gone_[i]) continue;
      items.push_back({nullptr, workers_[i].watch_fd(), ZMQ_POLLIN, 0});
      watched.push_back(i);
    }
    zmq_poll_retrying(items.data(), static_cast<int>(items.size()), timeout_ms);
    take_reports();  // before judging a hang-up: a worker reports, then goes
    for (std::size_t k = 0; k < watched.size(); ++k) {
      if (items[first_worker + k].revents == 0) continue;
      const std::size_t i = watched[k];
      gone_[i] = true;
      if (events != ZMQ_POLLIN && !ended_[i]) throw worker_closed(i);  // fanout
    }
    if (events == ZMQ_POLLIN && gone_count() > markers_seen_) drain_or_throw();
  }

  // fanin: a worker went without its end marker, unless the marker is still on its way.
  void drain_or_throw() {
    zmq_pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
    if (zmq_poll_retrying(&item, 1, zmq_drain_grace.count()) == 0) {
      throw std::runtime_error("a worker closed before its end of stream");
    }
  }

  // Destroyed in reverse: the socket closes, the context flushes (linger), then the lifelines.
  bool fanin_;
  std::vector<lifeline> workers_;
  pipes::fd done_;  // fanout: read end of the workers' end reports
  ipc_directory dir_;
  zmq::context_t context_;
  zmq::socket_t socket_;
  std::optional<handshake_monitor> monitor_;  // until every worker has connected
  zmq::message_t last_;
  std::vector<bool> gone_;        // the worker's lifeline has hung up
  std::vector<bool> ended_;       // fanout: the worker has reported its end
  std::size_t markers_seen_ = 0;  // fanin
};

class zmq_worker final : public Channel {
 public:
  zmq_worker(lifeline hub, zmq::context_t context, zmq::socket_t socket, std::size_t index,
             pipes::fd done)
      : hub_(std::move(hub)),
        done_(std::move(done)),
        context_(std::move(context)),
        socket_(std::move(socket)),
        index_(static_cast<std::uint32_t>(index)) {}

  // fanin: messages still queued when a PUSH socket closes are dropped once the linger runs out
  // (zmq_linger_ms), and a hub slower than that (1 MiB messages under ThreadSanitizer) lost a
  // worker's last messages and its end. So a worker that has sent its whole stream keeps its
  // socket until the hub has gone: the hub goes once it has every end (or dies), and then there
  // is nothing left to deliver. A worker that failed mid-stream does not wait: the hub must see
  // it go.
  ~zmq_worker() override {
    if (!sent_end_) return;
    pollfd hub_gone{hub_.watch_fd(), POLLIN, 0};
    while (::poll(&hub_gone, 1, -1) < 0 && errno == EINTR) {
    }
    socket_.set(zmq::sockopt::linger, 0);
  }

  void send(std::span<const std::byte> message) override {
    const zmq::const_buffer buffer(message.data(), message.size());
    while (!retry_interrupted([&] { return socket_.send(buffer, zmq::send_flags::dontwait); })) {
      if (!wait(ZMQ_POLLOUT, -1)) throw std::runtime_error("peer closed");
    }
    sent_end_ = message.empty();
  }

  std::span<const std::byte> receive(std::span<std::byte>) override {
    while (!retry_interrupted([&] { return socket_.recv(last_, zmq::recv_flags::dontwait); })) {
      if (wait(ZMQ_POLLIN, -1)) continue;
      if (!wait(ZMQ_POLLIN, zmq_drain_grace.count(), /*watch_hub=*/false)) {
        throw std::runtime_error("peer closed");
      }
    }
    if (last_.size() == 0 && done_) {
      // A hub that has gone (EPIPE) no longer needs to hear it: this worker's stream is whole.
      std::error_code gone;
      pipes::write_all(done_, std::as_bytes(std::span(&index_, 1)), gone);
      if (gone && gone != std::errc::broken_pipe) throw std::system_error(gone, "write");
      done_ = pipes::fd();
    }
    return {static_cast<const std::byte*>(last_.data()), last_.size()};
  }

  // Returns once this worker's connection has finished ZeroMQ's handshake.
  void await_connection(handshake_monitor& monitor) {
    for (;;) {
      if (monitor.take_events() > 0) break;
      zmq_pollitem_t items[] = {{monitor.handle(), 0, ZMQ_POLLIN, 0},
                                {nullptr, hub_.watch_fd(), ZMQ_POLLIN, 0}};
      zmq_poll_retrying(items, 2, -1);
      if (items[1].revents != 0) throw std::runtime_error("peer closed");
    }
    ::zmq_socket_monitor(socket_.handle(), nullptr, 0);
  }

 private:
  // Waits until the socket is ready for `events` (true) or, if `watch_hub`, the hub is gone or,
  // after `timeout_ms` (-1: none), nothing happened (false).
  bool wait(short events, long timeout_ms, bool watch_hub = true) {
    zmq_pollitem_t items[] = {{socket_.handle(), 0, events, 0},
                              {nullptr, hub_.watch_fd(), ZMQ_POLLIN, 0}};
    zmq_poll_retrying(items, watch_hub ? 2 : 1, timeout_ms);
    return items[0].revents != 0;
  }

  lifeline hub_;
  pipes::fd done_;  // fanout: where this worker reports its end
  zmq::context_t context_;
  zmq::socket_t socket_;
  std::uint32_t index_;
  zmq::message_t last_;
  bool sent_end_ = false;  // fanin: the whole stream is in ZeroMQ's hands
};

class zmq_pool final : public FanTransport {
 public:
  explicit zmq_pool(const FanParams& params)
      : params_(params),
        hwm_(zmq_high_water_mark(params.message_size)),
        dir_("zmq_ipc"),
        lifelines_(params.workers) {
    if (!params.fanin) done_ = pipes::open_pipe();
  }

  std::unique_ptr<HubChannel> open_hub() override {
    zmq::context_t context(1);
    zmq::socket_t socket(context, params_.fanin ? zmq::socket_type::pull : zmq::socket_type::push);
    set_queue_options(socket, hwm_);
    std::optional<handshake_monitor> monitor(std::in_place, context, socket);
    socket.bind(dir_.endpoint());
    dir_.restrict_socket_file();
    std::vector<lifeline> workers;
    for (lifeline_pair& pair : lifelines_) workers.push_back(pair.take(Role::leader));
    return std::make_unique<zmq_hub>(std::move(context), std::move(socket), std::move(monitor),
                                     std::move(dir_), std::move(workers), std::move(done_.read_end),
                                     params_.fanin);
  }

  std::unique_ptr<Channel> open_worker(std::size_t index) override {
    zmq::context_t context(1);
    zmq::socket_t socket(context, params_.fanin ? zmq::socket_type::push : zmq::socket_type::pull);
    set_queue_options(socket, hwm_);
    std::optional<handshake_monitor> monitor(std::in_place, context, socket);
    socket.connect(dir_.endpoint());
    auto worker =
        std::make_unique<zmq_worker>(lifelines_.at(index).take(Role::follower), std::move(context),
                                     std::move(socket), index, std::move(done_.write_end));
    worker->await_connection(*monitor);
    return worker;
  }

  std::string describe() const override {
    return "ZeroMQ " + zmq_version_text() +
           (params_.fanin ? " PULL (hub, binds) <- PUSH" : " PUSH (hub, binds) -> PULL") + " x " +
           std::to_string(params_.workers) +
           " over ipc:// (socket file in a private 0700 directory, removed once all connected); "
           "contexts (1 I/O thread) made after fork; SNDHWM = RCVHWM = " +
           std::to_string(hwm_) + " messages per connection; linger " +
           std::to_string(zmq_linger_ms) + " ms; the hub waits for " +
           std::to_string(params_.workers) + " handshakes before its first message; " +
           (params_.fanin ? std::string("each worker ends with one empty message")
                          : std::string("end: empty messages until every worker reports taking "
                                        "one (pipe), since PUSH skips full queues")) +
           "; receive returns the zmq message in place; peer death: lifelines in the same "
           "zmq_poll";
  }

 private:
  FanParams params_;
  int hwm_;
  ipc_directory dir_;
  std::vector<lifeline_pair> lifelines_;
  pipes::pipe_fds done_;  // fanout: workers -> hub, the index of each worker that took its end
};

}  // namespace

std::unique_ptr<FanTransport> make_zmq_ipc_fan(const FanParams& params) {
  if (params.workers == 0) throw std::invalid_argument("a worker pool needs a worker");
  return std::make_unique<zmq_pool>(params);
}

}  // namespace baselines
