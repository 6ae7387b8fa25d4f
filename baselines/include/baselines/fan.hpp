// Worker pools: one hub and W workers over one transport, for the fanout and fanin workloads.
//   fanout: the hub is the producer; it hands each message to one of the workers, which check
//     it. Which worker takes a message is the transport's business, done the way its authors
//     would do it: a pipe or socket per worker with the hub waiting for any to have room (poll),
//     one shared queue that idle workers pull from (ZeroMQ PUSH/PULL, a message queue with
//     several readers), one ring per worker.
//   fanin: every worker is a producer; the hub takes the next message from whichever has one.
// The life cycle is a Transport's (channel.hpp): a FanTransport is made in the controller before
// fork(); each child opens its side (the hub, or worker `index`) and destroys its copy, so that
// the death of any process is seen by the others as EOF, EPIPE or a stall.
//
// The end of a stream is an empty message. fanout: the hub sends one per worker with
// send_end(); a worker stops at the first it receives (on a shared queue, each of the W empty
// messages is taken by exactly one worker, since a worker that took one reads no more). fanin:
// each worker sends one empty message when done; the hub counts W of them.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>

#include "baselines/channel.hpp"

namespace baselines {

// The hub's side: connected to every worker at once.
class HubChannel {
 public:
  virtual ~HubChannel() = default;

  // fanout: hands one message to some worker, blocking while none can take it.
  virtual void send(std::span<const std::byte> message) = 0;
  // fanout: tells every worker that the stream has ended (W empty messages, one per worker).
  virtual void send_end() = 0;

  // fanin: the next message from any worker, as Channel::receive returns it (a prefix of
  // `scratch`, or the transport's own memory, valid until the next call).
  virtual std::span<const std::byte> receive(std::span<std::byte> scratch) = 0;
};

class FanTransport {
 public:
  virtual ~FanTransport() = default;

  // Called once in the hub's child after fork().
  virtual std::unique_ptr<HubChannel> open_hub() = 0;
  // Called once in worker `index`'s child (0 <= index < workers). The worker only receives
  // (fanout) or only sends (fanin) on it.
  virtual std::unique_ptr<Channel> open_worker(std::size_t index) = 0;

  // As Transport::describe(): the configuration as made, written into every result row.
  virtual std::string describe() const = 0;
};

// What a fan transport is told when it is made.
struct FanParams {
  std::size_t message_size = 0;  // the largest message the run will send
  std::size_t workers = 1;
  bool fanin = false;  // which way messages flow: false, hub to workers; true, workers to hub
};

}  // namespace baselines
