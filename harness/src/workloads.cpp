#include "workloads.hpp"

#include <signal.h>

#include <algorithm>
#include <numeric>
#include <optional>
#include <stdexcept>
#include <thread>
#include <type_traits>
#include <vector>

#include "baselines/fan.hpp"
#include "pair_group.hpp"
#include "payload_pool.hpp"
#include "peer_process.hpp"
#include "remote_peer.hpp"
#include "sequence_digest.hpp"

namespace harness {
namespace {

// Makes a transport with `make` and records its description in `result`; when it cannot be
// made, returns nullptr with `result` saying why (skipped when it cannot carry the run).
template <class Make>
auto make_or_explain(std::string_view id, run_result& result, const Make& make)
    -> decltype(make()) {
  try {
    auto made = make();
    result.description = made->describe();
    return made;
  } catch (const baselines::unsupported& e) {
    result.skipped = true;
    result.error = std::string("skipped: ") + e.what();
  } catch (const std::exception& e) {
    result.error = "setting up " + std::string(id) + ": " + e.what();
  }
  return nullptr;
}

using clock = std::chrono::steady_clock;
using baselines::Channel;
using baselines::HubChannel;

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

// Sends message `seq`: built in a loan when the channel lends one; else straight from the pool,
// stamped in place, or, given `own` (when other processes may stamp the same slot at the same
// time), built there first.
void send_message(Channel& channel, payload_pool& pool, std::uint64_t seq,
                  std::span<std::byte> own = {}) {
  if (auto loan = channel.loan(pool.message_size())) {
    for (std::size_t built = 0; built < loan->size();) {
      const std::size_t piece = std::min(build_piece, loan->size() - built);
      pool.write_message(seq, loan->subspan(built, piece), built);
      built += piece;
      if (built < loan->size()) channel.loan_filled(built);
    }
    channel.commit_loan();
  } else if (!own.empty()) {
    pool.write_message(seq, own);
    channel.send(own);
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

  // The sequence number a message of a worker pool carries; throws unless it is one of the
  // `count` sent.
  std::uint64_t sequence_of(std::span<const std::byte> received, std::uint64_t count) const {
    if (received.size() != pool_.message_size()) {
      throw std::runtime_error("a message of " + std::to_string(received.size()) +
                               " bytes arrived, expected " + std::to_string(pool_.message_size()));
    }
    const auto seq = pool_.stamped_sequence(received);
    if (!seq || *seq >= count) {
      throw std::runtime_error("a message carries the stamp " + std::to_string(seq.value_or(0)) +
                               ", not one of the " + std::to_string(count) +
                               " sent (corrupted stamp)");
    }
    return *seq;
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
T hear_from(const pipes::fd& link, const char* what) {
  static_assert(std::is_trivially_copyable_v<T>);
  T value{};
  if (pipes::read_full(link, std::as_writable_bytes(std::span(&value, 1))) != sizeof value) {
    throw std::runtime_error(std::string("the peer hung up without sending ") + what);
  }
  return value;
}

template <typename T>
T hear_from_peer(role_context& context, const char* what) {
  return hear_from<T>(context.peer_link(), what);
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

// What a receiving side of a run of `count` messages checks, with `settings`' test seams aimed at
// the middle message.
receiver_check checker_for(const payload_pool& pool, std::uint64_t count,
                           const run_settings& settings) {
  const auto middle = [&](bool injected) {
    return injected ? std::optional<std::uint64_t>(count / 2) : std::nullopt;
  };
  return receiver_check(pool, middle(settings.inject_corruption),
                        middle(settings.inject_stall.count() > 0), settings.inject_stall);
}

// `result` completed with what one pair's two reports say, or with its error.
run_result tally(workload w, run_result result, const pair_outcome& outcome, std::uint64_t count,
                 std::size_t message_size) {
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

// The slowest of `rates` over their mean (1: all alike); 0 when there is none.
double slowest_share(const std::vector<double>& rates) {
  if (rates.empty()) return 0;
  const double mean = std::accumulate(rates.begin(), rates.end(), 0.0) / rates.size();
  return mean > 0 ? *std::min_element(rates.begin(), rates.end()) / mean : 0;
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
  std::vector<double> rates;
  for (const pair_outcome& pair : outcome.pairs) {
    result.seconds = std::max(result.seconds, pair.leader.elapsed_s);
    result.cpu_seconds += pair.leader.cpu_s + pair.follower.cpu_s;
    result.messages += pair.follower.messages_checked;
    result.bytes_checked += pair.follower.bytes_checked;
    rates.push_back(static_cast<double>(pair.follower.bytes_checked) / pair.leader.elapsed_s);
  }
  result.slowest_pair_share = slowest_share(rates);
  const std::uint64_t expected_bytes = outcome.pairs.size() * count * message_size;
  if (result.bytes_checked != expected_bytes) {
    result.error = "only " + std::to_string(result.bytes_checked) + " of " +
                   std::to_string(expected_bytes) + " bytes were checked";
  }
  return result;
}

// --- Worker pools: fanout and fanin (see the top of workloads.hpp) ---

// Where the test seam run_settings::inject_death strikes: the member that handles the middle
// message kills itself there.
struct pool_faults {
  std::optional<std::uint64_t> hub_dies_at;
  std::optional<std::uint64_t> worker_dies_at;

  static void die_if(const std::optional<std::uint64_t>& at, std::uint64_t seq) {
    if (at == seq) ::raise(SIGKILL);
  }
};

// Deals `count` messages to the workers, ends their streams, and stops the clock when every
// worker has acknowledged what it checked.
role_report fanout_hub(HubChannel& hub, role_context& context, payload_pool& pool,
                       std::uint64_t count, const pool_faults& faults) {
  pool.prefault();
  context.ready();
  role_report report;
  const double cpu_start = process_cpu_seconds();
  const auto start = clock::now();
  for (std::uint64_t seq = 0; seq < count; ++seq) {
    pool_faults::die_if(faults.hub_dies_at, seq);
    hub.send(pool.message(seq));  // the hub alone stamps the pool: in place is safe
    context.progress(seq + 1);
  }
  hub.send_end();
  std::uint64_t acknowledged = 0;
  for (const pipes::fd& link : context.peer_links()) {
    acknowledged += hear_from<std::uint64_t>(link, "its acknowledgement");
  }
  report.elapsed_s = seconds_since(start);
  report.cpu_s = process_cpu_seconds() - cpu_start;
  if (acknowledged != count) {
    throw std::runtime_error("the workers acknowledged " + std::to_string(acknowledged) + " of " +
                             std::to_string(count) + " messages");
  }
  return report;
}

// Checks every message it is dealt until its stream ends, then acknowledges its count to the
// hub; reports the digest of what it checked.
role_report fanout_worker(Channel& channel, role_context& context, const receiver_check& check,
                          std::uint64_t count, const pool_faults& faults) {
  auto scratch = prefaulted(check.message_size());
  context.ready();
  role_report report;
  const double cpu_start = process_cpu_seconds();
  const auto start = clock::now();
  std::optional<std::uint64_t> last;
  for (;;) {
    const auto received = channel.receive(scratch);
    if (received.empty()) break;  // the hub's end of this worker's stream
    const std::uint64_t seq = check.sequence_of(received, count);
    if (last && seq <= *last) {
      throw std::runtime_error("message " + std::to_string(seq) + " arrived after message " +
                               std::to_string(*last) + " (duplicated or reordered)");
    }
    pool_faults::die_if(faults.worker_dies_at, seq);
    check(seq, received);
    last = seq;
    report.sequences.add(seq);
    report.bytes_checked += received.size();
    report.messages_checked += 1;
    context.progress(report.messages_checked);
  }
  report.elapsed_s = seconds_since(start);
  tell_peer(context, report.messages_checked);
  report.cpu_s = process_cpu_seconds() - cpu_start;
  return report;
}

// Takes every worker's messages as they come, checks each and each worker's order, and stops
// the clock when every worker's stream has ended.
role_report fanin_hub(HubChannel& hub, role_context& context, const receiver_check& check,
                      std::uint64_t count, std::size_t workers, const pool_faults& faults) {
  auto scratch = prefaulted(check.message_size());
  for (std::size_t w = 0; w < workers; ++w) check(warm_up_seq, hub.receive(scratch));
  context.ready();
  role_report report;
  std::vector<std::uint64_t> due(workers);  // each worker's next message
  std::iota(due.begin(), due.end(), std::uint64_t{0});
  std::vector<double> done_at(workers, 0);  // when each worker's last message was checked
  const double cpu_start = process_cpu_seconds();
  const auto start = clock::now();
  for (std::size_t ended = 0; ended < workers;) {
    pool_faults::die_if(faults.hub_dies_at, report.messages_checked);
    const auto received = hub.receive(scratch);
    if (received.empty()) {  // a worker's end
      ++ended;
      continue;
    }
    const std::uint64_t seq = check.sequence_of(received, count);
    const std::size_t w = seq % workers;
    if (seq != due[w]) {
      throw std::runtime_error("worker " + std::to_string(w) + ": message " + std::to_string(seq) +
                               " arrived when message " + std::to_string(due[w]) +
                               " was due (lost, duplicated or reordered)");
    }
    check(seq, received);
    due[w] += workers;
    if (due[w] >= count) done_at[w] = seconds_since(start);
    report.bytes_checked += received.size();
    report.messages_checked += 1;
    context.progress(report.messages_checked);
  }
  report.elapsed_s = seconds_since(start);
  report.cpu_s = process_cpu_seconds() - cpu_start;
  std::vector<double> rates;
  for (std::size_t w = 0; w < workers; ++w) {
    if (due[w] < count) {
      throw std::runtime_error("worker " + std::to_string(w) + " ended its stream before message " +
                               std::to_string(due[w]) + " (lost, duplicated or reordered)");
    }
    const std::uint64_t sent = (count - w + workers - 1) / workers;  // its share: w, w + W, ...
    if (w < count) rates.push_back(static_cast<double>(sent) / done_at[w]);
  }
  report.slowest_worker_share = slowest_share(rates);
  return report;
}

// Sends worker `index`'s share of the `count` messages, in order, then the end of its stream.
// With `own_buffer`, each message is built in a buffer of the worker's own first: other workers
// may be stamping the same slot of the pool at the same time.
role_report fanin_worker(Channel& channel, role_context& context, payload_pool& pool,
                         std::uint64_t count, std::size_t index, std::size_t workers,
                         bool own_buffer, const pool_faults& faults) {
  pool.prefault();
  auto warm_up = prefaulted(pool.message_size());  // never in place: others may be prefaulting
  pool.write_message(warm_up_seq, warm_up);
  channel.send(warm_up);
  channel.flush();
  auto own = prefaulted(own_buffer ? pool.message_size() : 0);
  context.ready();
  role_report report;
  const double cpu_start = process_cpu_seconds();
  const auto start = clock::now();
  std::uint64_t sent = 0;
  for (std::uint64_t seq = index; seq < count; seq += workers) {
    pool_faults::die_if(faults.worker_dies_at, seq);
    send_message(channel, pool, seq, own);
    context.progress(++sent);
  }
  channel.send({});
  channel.flush();
  report.elapsed_s = seconds_since(start);
  report.cpu_s = process_cpu_seconds() - cpu_start;
  return report;
}

run_result run_worker_pool(workload w, const transport_entry& transport, payload_pool& pool,
                           std::uint64_t count, const run_settings& settings) {
  const receiver_check checker = checker_for(pool, count, settings);
  run_result result;
  const bool fanin = w == workload::fanin;
  const auto workers = static_cast<std::size_t>(std::max(settings.workers, 1));
  if (!transport.make_fan) {
    result.skipped = true;
    result.error = "skipped: " + std::string(transport.id) + " has no worker-pool form";
    return result;
  }
  if (pool.message_size() < payload_pool::stamp_size) {
    result.skipped = true;
    result.error = "skipped: a worker pool's receiver learns which message it has from its " +
                   std::to_string(payload_pool::stamp_size) + "-byte stamp; messages are shorter";
    return result;
  }
  auto made = make_or_explain(transport.id, result, [&] {
    return transport.make_fan(
        {.message_size = pool.message_size(), .workers = workers, .fanin = fanin});
  });
  if (!made) return result;
  // Worker w stamps slots w, w + W, ... modulo the pool's: theirs alone when W divides them.
  const bool own_buffer = fanin && pool.slots() % workers != 0;
  if (own_buffer) {
    result.description += "; the pool's " + std::to_string(pool.slots()) +
                          " messages do not divide among " + std::to_string(workers) +
                          " workers, so each builds every message in a buffer of its own first "
                          "(one more copy)";
  }
  const std::uint64_t middle = count / 2;
  pool_faults faults;
  if (settings.inject_death == pool_member::hub) faults.hub_dies_at = middle;
  if (settings.inject_death == pool_member::worker) faults.worker_dies_at = middle;

  hub_role hub{"hub", {}, settings.leader_cpu};
  if (fanin) {
    hub.body = [&](HubChannel& c, role_context& ctx) {
      return fanin_hub(c, ctx, checker, count, workers, faults);
    };
  } else {
    hub.body = [&](HubChannel& c, role_context& ctx) {
      return fanout_hub(c, ctx, pool, count, faults);
    };
  }
  const auto worker = [&](std::size_t index) {
    role r{"worker " + std::to_string(index), {}, settings.follower_cpu};
    if (fanin) {
      r.body = [&, index](Channel& c, role_context& ctx) {
        return fanin_worker(c, ctx, pool, count, index, workers, own_buffer, faults);
      };
    } else {
      r.body = [&](Channel& c, role_context& ctx) {
        return fanout_worker(c, ctx, checker, count, faults);
      };
    }
    return r;
  };
  const group_outcome outcome =
      run_fan(std::move(made), hub, workers, worker, settings.stall_timeout);
  result.host = outcome.host;
  if (!outcome.ok()) {
    result.error = outcome.error;
    return result;
  }
  const role_report& hub_report = outcome.reports.front();
  const std::span<const role_report> worker_reports = std::span(outcome.reports).subspan(1);
  result.seconds = hub_report.elapsed_s;
  for (const role_report& r : outcome.reports) result.cpu_seconds += r.cpu_s;
  if (fanin) {
    result.messages = hub_report.messages_checked;
    result.bytes_checked = hub_report.bytes_checked;
    result.slowest_worker_share = hub_report.slowest_worker_share;
  } else {
    sequence_digest checked;
    std::vector<double> rates;
    for (const role_report& r : worker_reports) {
      checked += r.sequences;
      result.messages += r.messages_checked;
      result.bytes_checked += r.bytes_checked;
      rates.push_back(r.elapsed_s > 0 ? static_cast<double>(r.bytes_checked) / r.elapsed_s : 0);
    }
    result.slowest_worker_share = slowest_share(rates);
    if (const auto sent = sequence_digest::of_range(count); checked != sent) {
      result.error = "the workers' checks do not add up (lost, duplicated or reordered): " +
                     explain_difference(checked, sent);
      return result;
    }
  }
  const std::uint64_t expected_bytes = count * pool.message_size();
  if (result.messages != count || result.bytes_checked != expected_bytes) {
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
    case workload::fanout:
      return "fanout";
    case workload::fanin:
      return "fanin";
  }
  return "unknown";
}

std::string benchmark_name(workload w, std::string_view transport, std::size_t size, int scale) {
  std::string name =
      std::string(name_of(w)) + "/" + std::string(transport) + "/bytes:" + std::to_string(size);
  if (w == workload::openloop) name += "/load:" + std::to_string(scale);
  if (w == workload::pairs) name += "/pairs:" + std::to_string(scale);
  if (is_fan(w)) name += "/workers:" + std::to_string(scale);
  return name;
}

double run_result::cpu_seconds_per_gib() const noexcept {
  if (bytes_checked == 0) return 0;
  return cpu_seconds / (static_cast<double>(bytes_checked) / (1u << 30));
}

role leader_role(workload w, payload_pool& pool, std::uint64_t count,
                 const run_settings& settings) {
  role leader;
  leader.cpu = settings.leader_cpu;
  if (w == workload::throughput || w == workload::pairs) {
    leader.name = "sender";
    leader.body = [&pool, count](Channel& c, role_context& ctx) {
      return throughput_sender(c, ctx, pool, count);
    };
  } else if (w == workload::openloop) {
    leader.name = "sender";
    leader.body = [&pool, count, interval = settings.send_interval](Channel& c, role_context& ctx) {
      return open_loop_sender(c, ctx, pool, count, interval);
    };
  } else {
    leader.name = "pinger";
    leader.body = [&pool, count](Channel& c, role_context& ctx) {
      return latency_pinger(c, ctx, pool, count);
    };
  }
  return leader;
}

role follower_role(workload w, const payload_pool& pool, std::uint64_t count,
                   const run_settings& settings) {
  role follower;
  follower.cpu = settings.follower_cpu;
  const receiver_check checker = checker_for(pool, count, settings);
  if (w == workload::throughput || w == workload::pairs) {
    follower.name = "receiver";
    follower.body = [checker, count](Channel& c, role_context& ctx) {
      return throughput_receiver(c, ctx, checker, count);
    };
  } else if (w == workload::openloop) {
    follower.name = "receiver";
    follower.body = [checker, count, interval = settings.send_interval](Channel& c,
                                                                        role_context& ctx) {
      return open_loop_receiver(c, ctx, checker, count, interval);
    };
  } else {
    follower.name = "echoer";
    follower.body = [checker, count](Channel& c, role_context& ctx) {
      return latency_echoer(c, ctx, checker, count);
    };
  }
  return follower;
}

run_result run_workload(workload w, const transport_entry& transport, payload_pool& pool,
                        std::uint64_t count, const run_settings& settings) {
  if (is_fan(w)) return run_worker_pool(w, transport, pool, count, settings);
  const std::size_t message_size = pool.message_size();
  if (transport.in_process()) {
    if (w == workload::openloop || w == workload::pairs) {
      run_result result;
      result.skipped = true;
      result.error = "skipped: memcpy has no second process to pace or to pair";
      return result;
    }
    run_result result = run_in_process(w, pool, checker_for(pool, count, settings), count);
    result.description = describe(transport, message_size);
    return result;
  }

  const role leader = leader_role(w, pool, count, settings);
  if (settings.remote) {
    // The follower runs follower_role on another host, on a pool of the same shape.
    remote_run remote = settings.remote->run(w, transport, pool, count, leader, settings);
    run_result result;
    result.description = std::move(remote.description);
    result.skipped = remote.skipped;
    return tally(w, std::move(result), remote.outcome, count, message_size);
  }

  run_result result;
  auto made = make_or_explain(transport.id, result,
                              [&] { return transport.make({.message_size = message_size}); });
  if (!made) return result;
  result.pipe_capacity = made->pipe_capacity();

  const role follower = follower_role(w, pool, count, settings);
  if (w == workload::pairs) {
    made.reset();  // each pair makes its own, in its own process: none may hold another's
    return run_pairs(std::move(result), transport, message_size, count, leader, follower, settings);
  }
  const pair_outcome outcome = run_pair(std::move(made), leader, follower, settings.stall_timeout);
  return tally(w, std::move(result), outcome, count, message_size);
}

}  // namespace harness
