#include "remote_session.hpp"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <exception>
#include <map>
#include <memory>
#include <numeric>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <tuple>

#include "baselines/tcp_endpoint.hpp"
#include "host_facts.hpp"
#include "payload_pool.hpp"
#include "peer_process.hpp"
#include "remote_wire.hpp"
#include "transport_registry.hpp"
#include "workloads.hpp"

namespace harness {
namespace {

// The pools of the shapes the controller asked for, kept for its next runs.
class pool_cache {
 public:
  explicit pool_cache(std::size_t budget) : budget_(budget) {}

  const payload_pool& get(const payload_pool::shape_t& shape) {
    const key k{shape.message_size, shape.slots, shape.seed};
    if (auto it = pools_.find(k); it != pools_.end()) return *it->second;
    const std::size_t held =
        std::accumulate(pools_.begin(), pools_.end(), std::size_t{0},
                        [](std::size_t sum, const auto& e) { return sum + e.second->bytes(); });
    if (held + shape.message_size * shape.slots > budget_) pools_.clear();
    return *pools_.emplace(k, std::make_unique<payload_pool>(shape)).first->second;
  }

 private:
  using key = std::tuple<std::size_t, std::size_t, std::uint64_t>;
  std::size_t budget_;
  std::map<key, std::unique_ptr<payload_pool>> pools_;
};

// role_context::ready() while watching `control` for the controller's hang-up. Before "go" the
// controller sends nothing, so any event on the connection (POLLRDHUP, POLLHUP, POLLERR; POLLIN
// is not asked for) means it has gone, and the follower must not be left waiting for a leader
// that will never come (a ZeroMQ follower would wait for ever). ready() blocks in recv, so it
// runs on a thread of its own; its state is shared, since that thread is abandoned (and dies
// with the process) when the controller has gone.
void ready_watching(const pipes::fd& control, role_context& context) {
  struct waiting {
    pipes::pipe_fds done = pipes::open_pipe();
    std::exception_ptr failure;
  };
  auto state = std::make_shared<waiting>();
  std::thread waiter([state, &context] {
    try {
      context.ready();
    } catch (...) {
      state->failure = std::current_exception();
    }
    std::error_code ignored;
    state->done.write_end.close(ignored);
  });
  pollfd fds[2] = {{control.get(), POLLRDHUP, 0}, {state->done.read_end.get(), POLLIN, 0}};
  while (::poll(fds, 2, -1) < 0) {
    if (errno != EINTR) {
      waiter.detach();
      throw std::system_error(errno, std::system_category(), "poll");
    }
  }
  if (fds[1].revents == 0) {
    waiter.detach();
    throw std::runtime_error("the controller went away before the start");
  }
  waiter.join();
  if (state->failure) std::rethrow_exception(state->failure);
}

// Stands in for the leader, which runs on the controller's host: relays the follower's
// acknowledgement to the controller until the follower has ended.
role leader_stand_in(const pipes::fd& control) {
  role stand_in;
  stand_in.name = "the leader's stand-in";
  stand_in.body = [&control](baselines::Channel&, role_context& context) {
    ready_watching(control, context);
    if (relay_link(control, context.peer_link(), /*end_on_link_eof=*/true)) {
      throw std::runtime_error("the controller sent something other than link bytes in a run");
    }
    return role_report{};
  };
  return stand_in;
}

void refuse(const pipes::fd& control, bool skipped, const std::string& reason,
            void (*log)(const std::string&)) {
  log(std::string(skipped ? "skipped" : "failed") + ": " + reason);
  send_frame(control, frame_type::refused, encode_refusal(skipped, reason).bytes());
}

void serve_run(const pipes::fd& control, const frame& request_frame,
               const baselines::tcp_endpoint& here, pool_cache& pools,
               const peer_settings& settings, void (*log)(const std::string&)) {
  run_request request;
  try {
    request = decode_run_request(request_frame.body);
  } catch (const std::exception& e) {
    return refuse(control, false, std::string("bad request: ") + e.what(), log);
  }
  const transport_entry* entry = find_transport(request.transport);
  if (!entry || !entry->reaches_other_hosts) {
    return refuse(control, true,
                  request.transport + " cannot run with its follower on another host", log);
  }
  const std::string run = benchmark_name(request.w, request.transport, request.pool.message_size);
  pipes::fd listener;
  std::unique_ptr<baselines::Transport> made;
  try {
    // Where the controller reached this host: the data takes the same path as the control.
    listener = baselines::listen_tcp({here.host, 0}, 1);
    made = entry->make({.message_size = request.pool.message_size,
                        .remote = baselines::RemoteSide{.here = baselines::Role::follower,
                                                        .listener = listener.get()}});
  } catch (const baselines::unsupported& e) {
    return refuse(control, true, e.what(), log);
  } catch (const std::exception& e) {
    return refuse(control, false, run + ": setting up: " + e.what(), log);
  }
  wire_writer listening;
  listening.u32(baselines::local_endpoint(listener.get()).port).text(made->describe());
  send_frame(control, frame_type::listening, listening.bytes());

  // Building a pool of up to a GiB may take seconds: the controller counts it as getting ready.
  const payload_pool& pool = pools.get(request.pool);
  run_settings follower_settings;
  follower_settings.follower_cpu = settings.follower_cpu;
  follower_settings.inject_corruption = request.inject_corruption;
  follower_settings.inject_stall = request.inject_stall;
  const role follower = follower_role(request.w, pool, request.count, follower_settings);

  std::string not_started;
  const auto await_go = [&]() noexcept {
    try {
      send_frame(control, frame_type::ready);
      const auto go = receive_frame(control, std::max(request.stall_timeout, get_ready_limit));
      if (go && go->type == frame_type::go) return true;
      not_started = go ? "the controller sent something other than go" : "the controller went away";
    } catch (const std::exception& e) {
      not_started = e.what();
    }
    return false;
  };
  const pair_outcome outcome = run_pair(std::move(made), leader_stand_in(control), follower,
                                        request.stall_timeout, await_go);
  listener.close();
  if (!outcome.ok()) {
    const std::string why = not_started.empty() ? outcome.error : not_started;
    return refuse(control, false, run + ": " + why, log);
  }
  send_frame(control, frame_type::report, encode(outcome.follower).bytes());
}

}  // namespace

void serve_controller(const pipes::fd& control, const peer_settings& settings,
                      void (*log)(const std::string& line)) {
  // This host's facts, and its name (which Google Benchmark records only for the controller's).
  host_fact_list facts = host_facts();
  char name[256] = {};
  facts.emplace_back("host_name", ::gethostname(name, sizeof name - 1) == 0 ? name : "unknown");
  send_frame(control, frame_type::hello, encode_hello(facts).bytes());
  const baselines::tcp_endpoint here = baselines::local_endpoint(control.get());
  pool_cache pools(settings.pool_cache_bytes);
  for (;;) {
    const std::optional<frame> f = receive_frame(control, std::chrono::milliseconds(-1));
    if (!f) return;
    if (f->type != frame_type::run) {
      throw std::runtime_error("the controller sent a frame of type " +
                               std::to_string(static_cast<std::uint32_t>(f->type)) +
                               " between runs");
    }
    serve_run(control, *f, here, pools, settings, log);
  }
}

}  // namespace harness
