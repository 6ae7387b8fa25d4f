// Worker pools of one stream per worker, the way a pipe or socket user builds one: a pipe per
// worker in the direction messages flow (or a socket pair per worker), and a hub that waits on
// all of them with one poll(). The three such transports (fan_tuned_pipe.cpp,
// fan_naive_pipe.cpp, fan_socketpair.cpp) differ only in how a stream is made and how an end of
// it becomes a channel; everything else is here.
//
// The hub serves the workers in turn. fanout: each message goes whole to the next worker, after
// the last one served, that poll() said has room; fanin: the hub takes the next message from the
// next worker, after the last one served, that has one. poll() runs once per round (when every
// worker has had a turn), so a worker that is always ready cannot keep the others waiting, and
// with W ready workers the hub makes one poll() call per W messages. With one stream there is
// nothing to choose: the hub waits in that stream's own send or receive, as a pair does.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "baselines/channel.hpp"
#include "baselines/fan.hpp"
#include "pipes/fd.hpp"

namespace baselines {

// One worker's connection, as the hub uses it.
struct worker_connection {
  std::unique_ptr<Channel> channel;  // whole messages to (fanout) or from (fanin) the worker
  int poll_fd = -1;                  // the descriptor under `channel` that poll() watches
  // For a channel that reads ahead: true while it holds bytes its descriptor no longer shows
  // (poll() would not say they are there). Empty for a channel that reads only what it needs.
  std::function<bool()> holds_unread;
};

// The hub over `workers`' connections (the messages flow to it when `fanin`).
std::unique_ptr<HubChannel> make_polling_hub(std::vector<worker_connection> workers, bool fanin);

// One worker's stream, made before fork(): the hub's end and the worker's.
struct stream_ends {
  pipes::fd hub;
  pipes::fd worker;
};

// A pipe's two ends as a stream in the direction messages flow: the hub writes (fanout) or reads
// (fanin).
stream_ends ends_of(pipes::pipe_fds pipe, bool fanin);

// What makes one transport of one stream per worker.
struct stream_kind {
  // Makes one worker's stream, whose messages flow to the hub when `fanin`.
  std::function<stream_ends(bool fanin)> make;
  // Makes an end into a connection, in the process that uses it; `reads`: the end receives (the
  // hub's in fanin, a worker's in fanout).
  std::function<worker_connection(pipes::fd end, bool reads)> open;
  // How the streams are made, given one end of one of them (a pipe's capacity is read back).
  std::function<std::string(const pipes::fd& end)> describe;
};

// A worker pool of params.workers streams of `kind`.
std::unique_ptr<FanTransport> make_stream_per_worker_fan(const FanParams& params, stream_kind kind);

}  // namespace baselines
