#include "fan_connections.hpp"

#include <poll.h>

#include <cerrno>
#include <stdexcept>
#include <system_error>
#include <utility>

namespace baselines {
namespace {

class polling_hub final : public HubChannel {
 public:
  polling_hub(std::vector<worker_connection> workers, bool fanin)
      : workers_(std::move(workers)),
        events_(fanin ? POLLIN : POLLOUT),
        open_(workers_.size(), true),
        ready_(workers_.size(), false),
        open_count_(workers_.size()) {}

  void send(std::span<const std::byte> message) override {
    workers_[next_worker()].channel->send(message);
  }

  void send_end() override {
    for (auto& worker : workers_) {
      worker.channel->send({});
      worker.channel->flush();
    }
  }

  std::span<const std::byte> receive(std::span<std::byte> scratch) override {
    const std::size_t i = next_worker();
    const auto message = workers_[i].channel->receive(scratch);
    if (message.empty()) {  // that worker's end: it sends nothing more
      open_[i] = false;
      --open_count_;
    }
    return message;
  }

 private:
  // The next worker to serve: the first open one, from the one after the last served, that is
  // ready (as the last poll() said, or holding unread bytes); polls again once every open
  // worker has had a turn since the last poll(), and waits in poll() when none is ready.
  std::size_t next_worker() {
    if (open_count_ == 0) throw std::logic_error("every worker's stream has ended");
    if (open_count_ == 1) return first_open();
    if (turns_since_poll_ >= open_count_) wait_for_readiness(0);
    for (;;) {
      for (std::size_t k = 0; k < workers_.size(); ++k) {
        const std::size_t i = (next_ + k) % workers_.size();
        if (open_[i] && (ready_[i] || holds_unread(i))) {
          ready_[i] = false;
          next_ = (i + 1) % workers_.size();
          ++turns_since_poll_;
          return i;
        }
      }
      wait_for_readiness(-1);
    }
  }

  std::size_t first_open() const {
    std::size_t i = 0;
    while (!open_[i]) ++i;
    return i;
  }

  bool holds_unread(std::size_t i) const {
    return workers_[i].holds_unread && workers_[i].holds_unread();
  }

  // One poll() of every open worker (timeout in ms, -1: until one is ready). A worker whose
  // peer has gone polls as ready (POLLHUP, POLLERR): its send or receive then reports it.
  void wait_for_readiness(int timeout_ms) {
    fds_.clear();
    for (std::size_t i = 0; i < workers_.size(); ++i) {
      fds_.push_back({open_[i] ? workers_[i].poll_fd : -1, events_, 0});
    }
    while (::poll(fds_.data(), fds_.size(), timeout_ms) < 0) {
      if (errno != EINTR) throw std::system_error(errno, std::system_category(), "poll");
    }
    for (std::size_t i = 0; i < workers_.size(); ++i) {
      if (fds_[i].revents != 0) ready_[i] = true;
    }
    turns_since_poll_ = 0;
  }

  std::vector<worker_connection> workers_;
  short events_;
  std::vector<bool> open_;   // fanin: false once that worker's end has come
  std::vector<bool> ready_;  // as the last poll() said, until that worker is served
  std::size_t open_count_;
  std::size_t next_ = 0;  // where the next search for a ready worker starts
  std::size_t turns_since_poll_ = 0;
  std::vector<pollfd> fds_;
};

class stream_per_worker_fan final : public FanTransport {
 public:
  stream_per_worker_fan(const FanParams& params, stream_kind kind)
      : kind_(std::move(kind)), fanin_(params.fanin) {
    if (params.workers == 0) throw std::invalid_argument("a worker pool needs a worker");
    for (std::size_t i = 0; i < params.workers; ++i) streams_.push_back(kind_.make(fanin_));
    description_ = kind_.describe(streams_.front().hub) +
                   "; one such stream per worker, the hub poll()s " +
                   (fanin_ ? "them all and takes the next message from the next worker in turn "
                             "that has one"
                           : "them all and hands each message whole to the next worker in turn "
                             "whose stream has room");
  }

  std::unique_ptr<HubChannel> open_hub() override {
    std::vector<worker_connection> workers;
    for (auto& stream : streams_) workers.push_back(kind_.open(std::move(stream.hub), fanin_));
    return make_polling_hub(std::move(workers), fanin_);
  }

  std::unique_ptr<Channel> open_worker(std::size_t index) override {
    return kind_.open(std::move(streams_.at(index).worker), !fanin_).channel;
  }

  std::string describe() const override { return description_; }

 private:
  stream_kind kind_;
  bool fanin_;
  std::vector<stream_ends> streams_;
  std::string description_;
};

}  // namespace

std::unique_ptr<HubChannel> make_polling_hub(std::vector<worker_connection> workers, bool fanin) {
  return std::make_unique<polling_hub>(std::move(workers), fanin);
}

stream_ends ends_of(pipes::pipe_fds pipe, bool fanin) {
  if (fanin) return {std::move(pipe.read_end), std::move(pipe.write_end)};
  return {std::move(pipe.write_end), std::move(pipe.read_end)};
}

std::unique_ptr<FanTransport> make_stream_per_worker_fan(const FanParams& params,
                                                         stream_kind kind) {
  return std::make_unique<stream_per_worker_fan>(params, std::move(kind));
}

}  // namespace baselines
