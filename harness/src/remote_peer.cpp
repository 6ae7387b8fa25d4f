#include "remote_peer.hpp"

#include <stdexcept>

namespace harness {
namespace {

// How long connecting to the peer may take: a host that has vanished would otherwise hold
// connect() for minutes of SYN retries.
constexpr auto connect_timeout = std::chrono::seconds(10);

// Stands in for the follower, which runs on the peer: see the top of remote_peer.hpp.
role follower_stand_in(const pipes::fd& control, const std::string& where) {
  role stand_in;
  stand_in.name = where;
  stand_in.body = [&control](baselines::Channel&, role_context& context) -> role_report {
    const auto refused = [](const frame& f) {
      return std::runtime_error(decode_refusal(f.body).second);
    };
    // Getting ready is timed by run_pair, which watches this process.
    std::optional<frame> f = receive_frame(control, std::chrono::milliseconds(-1));
    if (!f) throw std::runtime_error("closed the control connection before its follower was ready");
    if (f->type == frame_type::refused) throw refused(*f);
    if (f->type != frame_type::ready) throw std::runtime_error("sent something other than ready");
    context.ready();
    send_frame(control, frame_type::go);
    try {
      f = relay_link(control, context.peer_link(), /*end_on_link_eof=*/false);
    } catch (const std::runtime_error& e) {
      throw std::runtime_error(std::string(e.what()) +
                               " during the run (the peer died, or its host went away)");
    }
    if (f->type == frame_type::refused) throw refused(*f);
    if (f->type != frame_type::report) throw std::runtime_error("sent something other than report");
    return decode_role_report(f->body);
  };
  return stand_in;
}

}  // namespace

remote_peer::remote_peer(std::string_view address) {
  endpoint_ = baselines::parse_tcp_endpoint(address, default_peer_port);
  endpoint_.host = baselines::numeric_host(endpoint_.host);
  connect(get_ready_limit);
}

std::string remote_peer::where() const { return "pipebench-peer at " + endpoint_.text(); }

void remote_peer::connect(std::chrono::milliseconds timeout) {
  control_ = baselines::connect_tcp(endpoint_, connect_timeout);
  // The peer serves one controller at a time: it says hello once the last one's session is over.
  const std::optional<frame> hello = receive_frame(control_, timeout);
  if (!hello || hello->type != frame_type::hello) {
    control_ = {};
    throw std::runtime_error(where() + " did not say hello (is it pipebench-peer?)");
  }
  host_fact_list facts = decode_hello(hello->body);
  if (facts_.empty()) facts_ = std::move(facts);
}

remote_run remote_peer::run(workload w, const transport_entry& transport, const payload_pool& pool,
                            std::uint64_t count, const role& leader, const run_settings& settings) {
  remote_run out;
  const auto fail = [&](std::string why) {
    out.outcome.error = std::move(why);
    return out;
  };
  if (!transport.reaches_other_hosts) {
    out.skipped = true;
    return fail("skipped: " + std::string(transport.id) + " cannot reach another host");
  }
  if (w != workload::throughput && w != workload::latency) {
    out.skipped = true;
    return fail("skipped: only throughput and latency run with the follower on another host");
  }
  std::unique_ptr<baselines::Transport> made;
  try {
    if (!control_) connect(std::max(settings.stall_timeout, get_ready_limit));
    const run_request request{.w = w,
                              .transport = std::string(transport.id),
                              .pool = pool.shape(),
                              .count = count,
                              .stall_timeout = settings.stall_timeout,
                              .inject_corruption = settings.inject_corruption,
                              .inject_stall = settings.inject_stall};
    send_frame(control_, frame_type::run, encode(request).bytes());
    const std::optional<frame> reply = receive_frame(control_, settings.stall_timeout);
    if (!reply) throw std::runtime_error("closed the control connection");
    if (reply->type == frame_type::refused) {
      auto [skipped, reason] = decode_refusal(reply->body);
      out.skipped = skipped;
      return fail((skipped ? "skipped: " : "") + where() + ": " + reason);
    }
    if (reply->type != frame_type::listening) {
      throw std::runtime_error("answered a run with something other than its data port");
    }
    wire_reader listening(reply->body);
    const std::uint32_t port = listening.u32();
    const std::string peer_label = listening.text();
    if (port == 0 || port > 65535) throw std::runtime_error("named no data port");
    made =
        transport.make({.message_size = pool.message_size(),
                        .remote = baselines::RemoteSide{.here = baselines::Role::leader,
                                                        .host = endpoint_.host,
                                                        .port = static_cast<std::uint16_t>(port)}});
    out.description = made->describe() + " | follower: " + where() + ": " + peer_label;
  } catch (const std::exception& e) {
    control_ = {};
    return fail(where() + ": " + e.what());
  }
  out.outcome = run_pair(std::move(made), leader, follower_stand_in(control_, where()),
                         settings.stall_timeout);
  // The session is in an unknown state: drop it (the peer stops its side), connect anew.
  if (!out.outcome.ok()) control_ = {};
  return out;
}

}  // namespace harness
