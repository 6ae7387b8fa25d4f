#include "workloads.hpp"

#include <algorithm>
#include <optional>
#include <stdexcept>
#include <thread>
#include <type_traits>
#include <vector>

#include "pair_group.hpp"
#include "payload_pool.hpp"
#include "peer_process.hpp"

namespace harness {
namespace {

using clock = std::chrono::steady_clock;
using baselines::Channel;

double seconds_since(clock::time_point start) {
  return std::chrono::duration<double>(clock::now() - start).count();
}

// A buffer whose pages are touched now, so that no page fault lands inside a timed phase.
std::vector<std::byte> prefaulted(std::size_t size) {
  std::vector<std::byte> buffer(size, std::byte{0x5a});
  return buffer;
}

// A sender building a message in a loan hands it over in pieces of this size, as a producer of a
// large message would, so a channel that can starts sending before the whole message is built.
constexpr std::size_t build_piece = 256 * 1024;

void send_message(Channel& channel, payload_pool& pool, std::uint64_t seq) {
  if (auto loan = channel.loan(pool.message_size())) {
    for (std::size_t built = 0; built < loan->size();) {
      const std::size_t piece = std::min(build_piece, loan->size() - built);
      pool.write_message(seq, loan->subspan(built, piece), built);
      built += piece;
      if (built < loan->size()) channel.loan_filled(built);
    }
    channel.commit_loan();
  } else {
    channel.send(pool.message(seq));
  }
}

void check(const payload_pool& pool, std::uint64_t seq, std::span<const std::byte> received) {
  if (!pool.matches(seq, received)) throw std::runtime_error(pool.explain_mismatch(seq, received));
}

// The message that goes through before the clock starts; its stamp is one no timed message has.
constexpr std::uint64_t warm_up_seq = ~std::uint64_t{0};

// What a receiving side checks, and the run_settings test seams it honours. With `corrupt_at`
// set, message `*corrupt_at` is checked as a copy with one byte flipped, which fails like real
// corruption; with `stall_at` set, the side sleeps for `stall` before receiving that message.
class receiver_check {
 public:
  receiver_check(const payload_pool& pool, std::optional<std::uint64_t> corrupt_at,
                 std::optional<std::uint64_t> stall_at, std::chrono::milliseconds stall)
      : pool_(pool), corrupt_at_(corrupt_at), stall_at_(stall_at), stall_(stall) {}

  // Call before receiving message `seq`: the stall seam sleeps there.
  void before_receiving(std::uint64_t seq) const {
    if (stall_at_ == seq) std::this_thread::sleep_for(stall_);
  }

  void operator()(std::uint64_t seq, std::span<const std::byte> received) const {
    if (corrupt_at_ != seq || received.empty()) return check(pool_, seq, received);
    std::vector<std::byte> copy(received.begin(), received.end());
    copy[copy.size() / 2] ^= std::byte{0x01};
    check(pool_, seq, copy);
  }

  std::size_t message_size() const noexcept { return pool_.message_size(); }

 private:
  const payload_pool& pool_;
  std::optional<std::uint64_t> corrupt_at_;
  std::optional<std::uint64_t> stall_at_;
  std::chrono::milliseconds stall_;
};

// The peer link carries a few plain values beside the transport: the open-loop start, and the
// receiver's acknowledgement of the last message.
template <typename T>
void tell_peer(role_context& context, const T& value) {
  static_assert(std::is_trivially_copyable_v<T>);
  pipes::write_all(context.peer_link(), std::as_bytes(std::span(&value, 1)));
}

template <typename T>
T hear_from_peer(role_context& context, const char* what) {
  static_assert(std::is_trivially_copyable_v<T>);
  T value{};
  if (pipes::read_full(context.peer_link(), std::as_writable_bytes(std::span(&value, 1))) !=
      sizeof value) {
    throw std::runtime_error(std::string("the peer hung up without sending ") + what);
  }
  return value;
}

// The sender's end of a stream: returns once the receiver has checked all `count` messages.
void await_acknowledgement(role_context& context, std::uint64_t count) {
  const auto acknowledged = hear_from_peer<std::uint64_t>(context, "its acknowledgement");
  if (acknowledged != count) {
    throw std::runtime_error("the receiver acknowledged " + std::to_string(acknowledged) + " of " +
                             std::to_string(count) + " messages");
  }
}

// A stream's sender before the clock: its pool touched, the warm-up message sent, ready.
void ready_to_stream(Channel& channel, role_context& context, payload_pool& pool) {
  pool.prefault();
  send_message(channel, pool, warm_up_seq);
  channel.flush();
  context.ready();
}

// A stream's receiver: receives message `seq` and checks it, counting it in `report`.
void receive_checked(Channel& channel, role_context& context, const receiver_check& check,
                     std::span<std::byte> scratch, std::uint64_t seq, role_report& report) {
  check.before_receiving(seq);
  const auto received = channel.receive(scratch);
  check(seq, received);
  report.bytes_checked += received.size();
  report.messages_checked = seq + 1;
  context.progress(seq + 1);
}

role_report throughput_sender(Channel& channel, role_context& context, payload_pool& pool,
                              std::uint64_t count) {
  ready_to_stream(channel, context, pool);
  role_report report;
  const double cpu_start = process_cpu_seconds();
  const auto start = clock::now();
  for (std::uint64_t seq = 0; seq < count; ++seq) {
    send_message(channel, pool, seq);
    context.progress(seq + 1);
  }
  channel.flush();
  await_acknowledgement(context, count);
  report.elapsed_s = seconds_since(start);
  report.cpu_s = process_cpu_seconds() - cpu_start;
  return report;
}

role_report throughput_receiver(Channel& channel, role_context& context,
                                const receiver_check& check, std::uint64_t count) {
  auto scratch = prefaulted(check.message_size());
  check(warm_up_seq, channel.receive(scratch));
  context.ready();
  role_report report;
  const double cpu_start = process_cpu_seconds();
  for (std::uint64_t seq = 0; seq < count; ++seq) {
    receive_checked(channel, context, check, scratch, seq, report);
  }
  tell_peer(context, report.messages_checked);
  report.cpu_s = process_cpu_seconds() - cpu_start;
  return report;
}

role_report latency_pinger(Channel& channel, role_context& context, payload_pool& pool,
                           std::uint64_t count) {
  pool.prefault();
  auto scratch = prefaulted(pool.message_size());
  std::vector<std::uint64_t> round_trips(count, 1);
  send_message(channel, pool, warm_up_seq);
  channel.flush();
  check(pool, warm_up_seq, channel.receive(scratch));
  context.ready();
  role_report report;
  const double cpu_start = process_cpu_seconds();
  const auto start = clock::now();
  for (std::uint64_t seq = 0; seq < count; ++seq) {
    const auto sent = clock::now();
    send_message(channel, pool, seq);
    channel.flush();
    const auto echo = channel.receive(scratch);
    check(pool, seq, echo);
    round_trips[seq] =
        std::chrono::duration_cast<std::chrono::nanoseconds>(clock::now() - sent).count();
    report.bytes_checked += echo.size();
    report.messages_checked = seq + 1;
    context.progress(seq + 1);
  }
  report.elapsed_s = seconds_since(start);
  report.cpu_s = process_cpu_seconds() - cpu_start;
  report.latency = summarise(round_trips);
  return report;
}

// Checks each message, then echoes it: the warm-up round trip first, then `count` timed ones.
role_report latency_echoer(Channel& channel, role_context& context, const receiver_check& check,
                           std::uint64_t count) {
  auto scratch = prefaulted(check.message_size());
  auto echo = [&](std::uint64_t seq) {
    check.before_receiving(seq);
    const auto received = channel.receive(scratch);
    check(seq, received);
    channel.send(received);
    channel.flush();
    return received.size();
  };
  echo(warm_up_seq);
  context.ready();
  role_report report;
  const double cpu_start = process_cpu_seconds();
  for (std::uint64_t seq = 0; seq < count; ++seq) {
    report.bytes_checked += echo(seq);
    report.messages_checked = seq + 1;
    context.progress(seq + 1);
  }
  report.cpu_s = process_cpu_seconds() - cpu_start;
  return report;
}

// When each message of an open-loop stream is due, on the steady clock: CLOCK_MONOTONIC, one
// clock for every process on the host, so the receiver can subtract a time the sender chose.
struct send_schedule {
  clock::time_point start;
  std::chrono::nanoseconds interval;

  clock::time_point due(std::uint64_t seq) const {
    return start + static_cast<std::chrono::nanoseconds::rep>(seq) * interval;
  }
};

// Returns at `due`, or at once if it has passed. It sleeps while `due` is far off and spins for
// the last stretch: a sleep overshoots by tens of µs (timer slack, the wake-up), and that
// lateness would be charged to the transport as latency.
void wait_until(clock::time_point due) {
  constexpr auto spin_window = std::chrono::microseconds(200);
  if (due - clock::now() > spin_window) std::this_thread::sleep_until(due - spin_window);
  while (clock::now() < due) {
  }
}

// How far in the future the first message is due when the sender picks the start: time for the
// receiver to learn the start and be waiting in receive(), so message 0 is not charged for it.
constexpr auto open_loop_head_start = std::chrono::milliseconds(1);

// Sends message `seq` when it is due, or at once when already late (the lateness is queueing and
// counts in its latency), flushing each one so that none waits in a batch.
role_report open_loop_sender(Channel& channel, role_context& context, payload_pool& pool,
                             std::uint64_t count, std::chrono::nanoseconds interval) {
  ready_to_stream(channel, context, pool);
  role_report report;
  const double cpu_start = process_cpu_seconds();
  const send_schedule schedule{clock::now() + open_loop_head_start, interval};
  tell_peer(context, schedule.start);
  for (std::uint64_t seq = 0; seq < count; ++seq) {
    wait_until(schedule.due(seq));
    send_message(channel, pool, seq);
    channel.flush();
    context.progress(seq + 1);
  }
  await_acknowledgement(context, count);
  report.elapsed_s = seconds_since(schedule.start);
  report.cpu_s = process_cpu_seconds() - cpu_start;
  return report;
}

// Checks each message and records how long after its intended send time it was checked.
role_report open_loop_receiver(Channel& channel, role_context& context, const receiver_check& check,
                               std::uint64_t count, std::chrono::nanoseconds interval) {
  auto scratch = prefaulted(check.message_size());
  std::vector<std::uint64_t> latencies(count, 1);
  check(warm_up_seq, channel.receive(scratch));
  context.ready();
  role_report report;
  const double cpu_start = process_cpu_seconds();
  const send_schedule schedule{hear_from_peer<clock::time_point>(context, "the start"), interval};
  for (std::uint64_t seq = 0; seq < count; ++seq) {
    receive_checked(channel, context, check, scratch, seq, report);
    // Never negative: a message is sent no earlier than it is due.
    latencies[seq] =
        std::chrono::duration_cast<std::chrono::nanoseconds>(clock::now() - schedule.due(seq))
            .count();
  }
  tell_peer(context, report.messages_checked);
  report.cpu_s = process_cpu_seconds() - cpu_start;
  report.latency = summarise(latencies);
  return report;
}

// The memcpy ceiling: the same work in one process, with a copy where the transport would be.
run_result run_in_process(workload w, payload_pool& pool, const receiver_check& check_there,
                          std::uint64_t count) {
  pool.prefault();
  auto there = prefaulted(pool.message_size());
  auto back = prefaulted(pool.message_size());
  std::vector<std::uint64_t> round_trips(w == workload::latency ? count : 0, 1);
  run_result result;
  try {
    const host_activity_meter meter;
    const double cpu_start = process_cpu_seconds();
    const auto start = clock::now();
    for (std::uint64_t seq = 0; seq < count; ++seq) {
      const auto sent = w == workload::latency ? clock::now() : clock::time_point();
      const auto message = pool.message(seq);
      check_there.before_receiving(seq);
      std::copy(message.begin(), message.end(), there.begin());
      check_there(seq, there);
      result.bytes_checked += there.size();
      if (w == workload::latency) {
        std::copy(there.begin(), there.end(), back.begin());
        check(pool, seq, back);
        result.bytes_checked += back.size();
        round_trips[seq] =
            std::chrono::duration_cast<std::chrono::nanoseconds>(clock::now() - sent).count();
      }
      result.messages = seq + 1;
    }
    result.seconds = seconds_since(start);
    result.cpu_seconds = process_cpu_seconds() - cpu_start;
    result.host = meter.finish();
    result.latency = summarise(round_trips);
  } catch (const std::exception& e) {
    result.error = e.what();
  }
  return result;
}

// The pairs workload: `settings.pairs` throughput pairs at once, each moving `count` messages.
// `result` holds what was learnt making the transport once (its description); the pairs' figures
// are added up, the timed phase is the slowest pair's.
run_result run_pairs(run_result result, const transport_entry& transport, std::size_t message_size,
                     std::uint64_t count, const role& leader, const role& follower,
                     const run_settings& settings) {
  const auto outcome = run_pair_group(
      static_cast<std::size_t>(settings.pairs),
      [&] { return transport.make({.message_size = message_size}); }, leader, follower,
      settings.stall_timeout);
  result.host = outcome.host;
  if (!outcome.ok()) {
    result.error = outcome.error;
    return result;
  }
  double rate_sum = 0, slowest_rate = 0;
  for (const pair_outcome& pair : outcome.pairs) {
    result.seconds = std::max(result.seconds, pair.leader.elapsed_s);
    result.cpu_seconds += pair.leader.cpu_s + pair.follower.cpu_s;
    result.messages += pair.follower.messages_checked;
    result.bytes_checked += pair.follower.bytes_checked;
    const double rate = static_cast<double>(pair.follower.bytes_checked) / pair.leader.elapsed_s;
    rate_sum += rate;
    slowest_rate = slowest_rate == 0 ? rate : std::min(slowest_rate, rate);
  }
  result.slowest_pair_share = slowest_rate / (rate_sum / static_cast<double>(outcome.pairs.size()));
  const std::uint64_t expected_bytes = outcome.pairs.size() * count * message_size;
  if (result.bytes_checked != expected_bytes) {
    result.error = "only " + std::to_string(result.bytes_checked) + " of " +
                   std::to_string(expected_bytes) + " bytes were checked";
  }
  return result;
}

}  // namespace

std::string_view name_of(workload w) noexcept {
  switch (w) {
    case workload::throughput:
      return "throughput";
    case workload::latency:
      return "latency";
    case workload::openloop:
      return "openloop";
    case workload::pairs:
      return "pairs";
  }
  return "unknown";
}

std::string benchmark_name(workload w, std::string_view transport, std::size_t size, int scale) {
  std::string name =
      std::string(name_of(w)) + "/" + std::string(transport) + "/bytes:" + std::to_string(size);
  if (w == workload::openloop) name += "/load:" + std::to_string(scale);
  if (w == workload::pairs) name += "/pairs:" + std::to_string(scale);
  return name;
}

double run_result::cpu_seconds_per_gib() const noexcept {
  if (bytes_checked == 0) return 0;
  return cpu_seconds / (static_cast<double>(bytes_checked) / (1u << 30));
}

run_result run_workload(workload w, const transport_entry& transport, payload_pool& pool,
                        std::uint64_t count, const run_settings& settings) {
  const std::size_t message_size = pool.message_size();
  const auto middle = [&](bool injected) {
    return injected ? std::optional<std::uint64_t>(count / 2) : std::nullopt;
  };
  const receiver_check checker(pool, middle(settings.inject_corruption),
                               middle(settings.inject_stall.count() > 0), settings.inject_stall);
  if (transport.in_process()) {
    if (w == workload::openloop || w == workload::pairs) {
      run_result result;
      result.skipped = true;
      result.error = "skipped: memcpy has no second process to pace or to pair";
      return result;
    }
    run_result result = run_in_process(w, pool, checker, count);
    result.description = describe(transport, message_size);
    return result;
  }

  run_result result;
  std::unique_ptr<baselines::Transport> made;
  try {
    made = transport.make({.message_size = message_size});
    result.description = made->describe();
    result.pipe_capacity = made->pipe_capacity();
  } catch (const baselines::unsupported& e) {
    result.skipped = true;
    result.error = std::string("skipped: ") + e.what();
    return result;
  } catch (const std::exception& e) {
    result.error = std::string("setting up ") + std::string(transport.id) + ": " + e.what();
    return result;
  }

  role leader, follower;
  leader.cpu = settings.leader_cpu;
  follower.cpu = settings.follower_cpu;
  if (w == workload::throughput || w == workload::pairs) {
    leader.name = "sender";
    leader.body = [&](Channel& c, role_context& ctx) {
      return throughput_sender(c, ctx, pool, count);
    };
    follower.name = "receiver";
    follower.body = [&](Channel& c, role_context& ctx) {
      return throughput_receiver(c, ctx, checker, count);
    };
  } else if (w == workload::openloop) {
    leader.name = "sender";
    leader.body = [&](Channel& c, role_context& ctx) {
      return open_loop_sender(c, ctx, pool, count, settings.send_interval);
    };
    follower.name = "receiver";
    follower.body = [&](Channel& c, role_context& ctx) {
      return open_loop_receiver(c, ctx, checker, count, settings.send_interval);
    };
  } else {
    leader.name = "pinger";
    leader.body = [&](Channel& c, role_context& ctx) {
      return latency_pinger(c, ctx, pool, count);
    };
    follower.name = "echoer";
    follower.body = [&](Channel& c, role_context& ctx) {
      return latency_echoer(c, ctx, checker, count);
    };
  }

  if (w == workload::pairs) {
    made.reset();  // each pair makes its own, in its own process: none may hold another's
    return run_pairs(std::move(result), transport, message_size, count, leader, follower, settings);
  }
  const pair_outcome outcome = run_pair(std::move(made), leader, follower, settings.stall_timeout);
  result.host = outcome.host;
  if (!outcome.ok()) {
    result.error = outcome.error;
    return result;
  }
  result.seconds = outcome.leader.elapsed_s;
  result.cpu_seconds = outcome.leader.cpu_s + outcome.follower.cpu_s;
  // The side that timed the messages: the pinger its round trips, the open-loop receiver each
  // message's delay.
  result.latency = w == workload::openloop ? outcome.follower.latency : outcome.leader.latency;
  result.messages = outcome.follower.messages_checked;
  result.bytes_checked = outcome.leader.bytes_checked + outcome.follower.bytes_checked;
  const std::uint64_t expected_messages = count;
  const std::uint64_t expected_bytes = count * message_size * (w == workload::latency ? 2 : 1);
  if (result.messages != expected_messages || result.bytes_checked != expected_bytes) {
    result.error = "only " + std::to_string(result.bytes_checked) + " of " +
                   std::to_string(expected_bytes) + " bytes were checked";
  }
  return result;
}

}  // namespace harness
