// The `pipes` library behind the channel concept: the tuned pipe with its default options, its
// zero-copy, batching and spinning variants, and each speed lever alone on top of a Python-like
// pipe (the `pipe_*` ablation).
#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "baselines/transports.hpp"
#include "connection_channel.hpp"
#include "pipes/connection.hpp"
#include "size_text.hpp"

namespace baselines {
namespace {

enum class sending {
  plain,    // send_bytes from the caller's buffer
  loan,     // the caller builds each message inside the staging ring (loan + commit)
  built,    // the caller builds each message in its own buffer, then send_bytes: loan's twin
  batched,  // small messages gathered and sent with send_batch
};

class loaning_channel final : public connection_channel {
 public:
  using connection_channel::connection_channel;
  std::optional<std::span<std::byte>> loan(std::size_t size) override {
    return connection_.loan(size);
  }
  void loan_filled(std::size_t filled) override { connection_.send_ahead(filled); }
  void commit_loan() override { connection_.commit(); }
};

// Builds each message in its own buffer and sends it with send_bytes, as a user without loans
// would: the like-for-like partner of loaning_channel (same bytes, one more copy).
class building_channel final : public connection_channel {
 public:
  using connection_channel::connection_channel;
  std::optional<std::span<std::byte>> loan(std::size_t size) override {
    buffer_.resize(size);
    return std::span(buffer_);
  }
  void commit_loan() override { connection_.send_bytes(buffer_); }

 private:
  std::vector<std::byte> buffer_;
};

// Gathers small messages and hands them to send_batch together; flushes before it would hold
// more than `max_batch_bytes` or `max_batch_messages`, before any large message, and on flush().
class batching_channel final : public connection_channel {
 public:
  static constexpr std::size_t max_batch_bytes = 64u << 10;
  static constexpr std::size_t max_batch_messages = 512;
  // Larger messages gain nothing from batching: they go alone, by send_bytes.
  static constexpr std::size_t alone_above = max_batch_bytes / 4;

  using connection_channel::connection_channel;

  void send(std::span<const std::byte> message) override {
    if (message.size() > alone_above) {
      flush();
      connection_.send_bytes(message);
      return;
    }
    if (arena_.size() + message.size() > max_batch_bytes || ends_.size() == max_batch_messages) {
      flush();
    }
    arena_.insert(arena_.end(), message.begin(), message.end());
    ends_.push_back(arena_.size());
  }

  void flush() override {
    if (ends_.empty()) return;
    views_.clear();
    std::size_t begin = 0;
    for (std::size_t end : ends_) {
      views_.emplace_back(arena_.data() + begin, end - begin);
      begin = end;
    }
    connection_.send_batch(views_);
    arena_.clear();
    ends_.clear();
  }

 private:
  std::vector<std::byte> arena_;
  std::vector<std::size_t> ends_;  // offsets in arena_ (spans would dangle on reallocation)
  std::vector<std::span<const std::byte>> views_;
};

// The one account of a pipes configuration: every lever, the capacity got, and how it sends.
std::string description(const pipes::options& o, sending how, std::size_t capacity) {
  const std::string text = pipes_description(o, capacity);
  switch (how) {
    case sending::plain:
      return text + "; send_bytes from the sender's pool";
    case sending::loan:
      return text +
             "; each message built in a loan, handed over in pieces (send_ahead), then "
             "commit (zero copy)";
    case sending::built:
      return text + "; each message built in a user buffer, then send_bytes (the loan's twin)";
    case sending::batched:
      return text + "; send_batch of up to " +
             std::to_string(batching_channel::max_batch_messages) + " messages / " +
             size_text(batching_channel::max_batch_bytes) + ", messages over " +
             size_text(batching_channel::alone_above) + " sent alone (then it is send_bytes)";
  }
  return text;
}

// Two kernel pipes, one per direction, made before fork. Each child adopts its two descriptors
// into a Connection of its own, so that buffers and the staging ring are allocated in the
// process that uses them (no copy-on-write faults inside a timed run).
class tuned_pipe_transport final : public Transport {
 public:
  tuned_pipe_transport(const pipes::options& options, sending how) : options_(options), how_(how) {
    auto [leader, follower] = pipes::make_duplex(options_);
    capacity_ = std::min(leader.capacity(), follower.capacity());
    leader_ends_ = leader.release();
    follower_ends_ = follower.release();
  }

  std::unique_ptr<Channel> open(Role role) override {
    auto& [read_end, write_end] = role == Role::leader ? leader_ends_ : follower_ends_;
    pipes::Connection connection(std::move(read_end), std::move(write_end), options_);
    switch (how_) {
      case sending::loan:
        return std::make_unique<loaning_channel>(std::move(connection));
      case sending::built:
        return std::make_unique<building_channel>(std::move(connection));
      case sending::batched:
        return std::make_unique<batching_channel>(std::move(connection));
      case sending::plain:
        break;
    }
    return std::make_unique<connection_channel>(std::move(connection));
  }

  std::string describe() const override { return description(options_, how_, capacity_); }
  std::optional<std::size_t> pipe_capacity() const override { return capacity_; }

 private:
  pipes::options options_;
  sending how_;
  std::size_t capacity_ = 0;
  std::pair<pipes::fd, pipes::fd> leader_ends_, follower_ends_;  // {read, write} of each side
};

// Room for the largest message of the run, whatever the library's default bound.
pipes::options sized_for(pipes::options options, const TransportParams& params) {
  options.max_message_size = std::max(options.max_message_size, params.message_size);
  return options;
}

std::unique_ptr<Transport> make(const TransportParams& params, pipes::options options,
                                sending how) {
  return std::make_unique<tuned_pipe_transport>(sized_for(options, params), how);
}

pipes::options with_one_lever(bool pipes::options::*lever) {
  auto o = pipes::levers_off();
  o.*lever = true;
  return o;
}

}  // namespace

std::unique_ptr<Transport> make_tuned_pipe(const TransportParams& p) {
  return make(p, {}, sending::plain);
}
std::unique_ptr<Transport> make_tuned_pipe_loan(const TransportParams& p) {
  return make(p, {}, sending::loan);
}
std::unique_ptr<Transport> make_tuned_pipe_built(const TransportParams& p) {
  return make(p, {}, sending::built);
}
std::unique_ptr<Transport> make_tuned_pipe_batch(const TransportParams& p) {
  return make(p, {}, sending::batched);
}
std::unique_ptr<Transport> make_tuned_pipe_at_capacity(const TransportParams& p,
                                                       std::size_t capacity, bool loan) {
  pipes::options o;
  o.pipe_capacity = capacity;
  return make(p, o, loan ? sending::loan : sending::plain);
}

std::unique_ptr<Transport> make_tuned_pipe_spin(const TransportParams& p) {
  pipes::options o;
  o.spin = std::chrono::microseconds(100);
  return make(p, o, sending::plain);
}
std::unique_ptr<Transport> make_pipe_levers_off(const TransportParams& p) {
  return make(p, pipes::levers_off(), sending::plain);
}
std::unique_ptr<Transport> make_pipe_bigbuf(const TransportParams& p) {
  auto o = pipes::levers_off();
  o.pipe_capacity = pipes::options{}.pipe_capacity;
  return make(p, o, sending::plain);
}
std::unique_ptr<Transport> make_pipe_writev(const TransportParams& p) {
  return make(p, with_one_lever(&pipes::options::gather_writes), sending::plain);
}
std::unique_ptr<Transport> make_pipe_readahead(const TransportParams& p) {
  return make(p, with_one_lever(&pipes::options::read_ahead), sending::plain);
}
std::unique_ptr<Transport> make_pipe_vmsplice(const TransportParams& p) {
  return make(p, with_one_lever(&pipes::options::zero_copy), sending::plain);
}

}  // namespace baselines
