// The control connection between pipebench (the controller) and pipebench-peer (the follower's
// host), one TCP connection per controller. Everything on it is a frame:
//   [u32 type][u32 length][length bytes], integers little-endian, doubles as their IEEE-754 bits,
//   strings as [u32 length][bytes]; a frame is never longer than max_frame, and a length read
//   from the wire is checked against what is left before anything is sized by it.
//
//   peer -> controller   hello      protocol version, then the peer's host facts (once per
//   connection) controller -> peer   run        one run: workload, transport, pool shape, count,
//   test seams peer -> controller   listening  the data port its follower accepts the leader on,
//   its label peer -> controller   ready      its follower is ready (warm-up message checked)
//   controller -> peer   go         the clock starts
//   both ways            link       bytes between the two roles outside the transport (the
//                                   receiver's acknowledgement), relayed by the stand-ins
//   peer -> controller   report     the follower's role_report: the run is over
//   peer -> controller   refused    the run failed or cannot run here: skipped flag, reason
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "payload_pool.hpp"
#include "peer_process.hpp"
#include "pipes/fd.hpp"
#include "workloads.hpp"

namespace harness {

inline constexpr std::uint32_t remote_protocol_version = 1;
inline constexpr std::uint16_t default_peer_port = 7878;
inline constexpr std::size_t max_frame = 64 * 1024;

enum class frame_type : std::uint32_t {
  hello = 1,
  run,
  listening,
  ready,
  go,
  link,
  report,
  refused,
};

struct frame {
  frame_type type{};
  std::vector<std::byte> body;
};

// Sends one frame. Throws std::system_error (EPIPE when the other side has gone: never SIGPIPE).
void send_frame(const pipes::fd& socket, frame_type type, std::span<const std::byte> body = {});

// Receives one frame within `timeout` (negative: no limit). Returns nullopt when the other side
// closed the connection between frames; throws std::runtime_error on a timeout, a connection
// closed or reset mid-frame, or a frame longer than max_frame.
std::optional<frame> receive_frame(const pipes::fd& socket, std::chrono::milliseconds timeout);

// Builds a frame's body.
class wire_writer {
 public:
  wire_writer& u8(std::uint8_t v);
  wire_writer& u32(std::uint32_t v);
  wire_writer& u64(std::uint64_t v);
  wire_writer& f64(double v);
  wire_writer& text(std::string_view v);
  std::span<const std::byte> bytes() const noexcept { return bytes_; }

 private:
  std::vector<std::byte> bytes_;
};

// Reads a frame's body; every read checks what is left and throws std::runtime_error past the end.
class wire_reader {
 public:
  explicit wire_reader(std::span<const std::byte> bytes) noexcept : bytes_(bytes) {}
  std::uint8_t u8();
  std::uint32_t u32();
  std::uint64_t u64();
  double f64();
  std::string text();

 private:
  std::span<const std::byte> take(std::size_t n);
  std::span<const std::byte> bytes_;
};

// One run the controller asks of the peer.
struct run_request {
  workload w = workload::throughput;
  std::string transport;
  payload_pool::shape_t pool;
  std::uint64_t count = 0;
  std::chrono::milliseconds stall_timeout{0};
  bool inject_corruption = false;  // run_settings' test seams, for the follower's check
  std::chrono::milliseconds inject_stall{0};
};

wire_writer encode(const run_request& request);
// Throws std::runtime_error for a request out of bounds: a pool over 2 GiB or a message over
// 1 GiB, more than max_messages, an unknown workload, a stall timeout over an hour.
run_request decode_run_request(std::span<const std::byte> body);

wire_writer encode(const role_report& report);
role_report decode_role_report(std::span<const std::byte> body);

using host_fact_list = std::vector<std::pair<std::string, std::string>>;
wire_writer encode_hello(const host_fact_list& facts);
// Throws std::runtime_error when the peer speaks another protocol version.
host_fact_list decode_hello(std::span<const std::byte> body);

// A frame of `type` carrying one string (link bytes, a refusal's reason).
wire_writer encode_refusal(bool skipped, std::string_view reason);
std::pair<bool, std::string> decode_refusal(std::span<const std::byte> body);

// Relays the bytes one role sends the other outside the transport (role_context::peer_link)
// between `link` (a stand-in's peer link) and `control` as link frames, until a frame other than
// link arrives (returned) or, with `end_on_link_eof`, the link reads end of file (nullopt: the
// role beside the stand-in has ended). Throws std::runtime_error when the control connection
// closes, std::system_error on an I/O error.
std::optional<frame> relay_link(const pipes::fd& control, const pipes::fd& link,
                                bool end_on_link_eof);

}  // namespace harness
