#include "remote_wire.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <bit>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>

#include "message_count.hpp"

namespace harness {
namespace {

using steady = std::chrono::steady_clock;

constexpr std::size_t header_size = 8;
// A run request's transport id, and a fact's key or value, is never longer.
constexpr std::uint32_t max_text = 16 * 1024;
constexpr std::uint32_t max_facts = 256;
constexpr std::chrono::milliseconds max_stall_timeout = std::chrono::hours(1);

[[noreturn]] void throw_errno(const char* what) {
  throw std::system_error(errno, std::system_category(), what);
}

std::uint64_t little_endian(std::span<const std::byte> bytes) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    v |= std::uint64_t(std::to_integer<std::uint8_t>(bytes[i])) << (8 * i);
  }
  return v;
}

// Waits until `socket` is readable or `deadline` passes (throws then); no deadline when unset.
void await_readable(const pipes::fd& socket, std::optional<steady::time_point> deadline) {
  for (;;) {
    int wait_ms = -1;
    if (deadline) {
      const auto left =
          std::chrono::ceil<std::chrono::milliseconds>(*deadline - steady::now()).count();
      if (left <= 0) throw std::runtime_error("no answer on the control connection in time");
      wait_ms = static_cast<int>(left);
    }
    pollfd p{socket.get(), POLLIN, 0};
    const int n = ::poll(&p, 1, wait_ms);
    if (n > 0) return;
    if (n < 0 && errno != EINTR) throw_errno("poll control connection");
  }
}

// Reads exactly `out.size()` bytes; returns false on end of file before the first byte.
bool read_exactly(const pipes::fd& socket, std::span<std::byte> out,
                  std::optional<steady::time_point> deadline) {
  std::size_t got = 0;
  while (got < out.size()) {
    await_readable(socket, deadline);
    const ssize_t n = ::recv(socket.get(), out.data() + got, out.size() - got, 0);
    if (n > 0) {
      got += static_cast<std::size_t>(n);
    } else if (n == 0) {
      if (got == 0) return false;
      throw std::runtime_error("the control connection closed in the middle of a frame");
    } else if (errno == ECONNRESET) {
      if (got == 0) return false;  // a peer killed between frames resets rather than closes
      throw std::runtime_error("the control connection was reset in the middle of a frame");
    } else if (errno != EINTR) {
      throw_errno("recv control connection");
    }
  }
  return true;
}

}  // namespace

void send_frame(const pipes::fd& socket, frame_type type, std::span<const std::byte> body) {
  if (body.size() > max_frame) throw std::length_error("control frame too long");
  wire_writer header;
  header.u32(static_cast<std::uint32_t>(type)).u32(static_cast<std::uint32_t>(body.size()));
  std::vector<std::byte> whole(header.bytes().begin(), header.bytes().end());
  whole.insert(whole.end(), body.begin(), body.end());
  // One send per frame: two processes may share the connection (never at once), and a frame
  // written whole is never interleaved with another.
  std::span<const std::byte> left = whole;
  while (!left.empty()) {
    const ssize_t n = ::send(socket.get(), left.data(), left.size(), MSG_NOSIGNAL);
    if (n >= 0) {
      left = left.subspan(static_cast<std::size_t>(n));
    } else if (errno != EINTR) {
      throw_errno("send on the control connection");
    }
  }
}

std::optional<frame> receive_frame(const pipes::fd& socket, std::chrono::milliseconds timeout) {
  std::optional<steady::time_point> deadline;
  if (timeout.count() >= 0) deadline = steady::now() + timeout;
  std::byte header[header_size];
  if (!read_exactly(socket, header, deadline)) return std::nullopt;
  frame f;
  f.type = static_cast<frame_type>(little_endian(std::span(header, 4)));
  const std::uint64_t length = little_endian(std::span(header + 4, 4));
  if (length > max_frame) {
    throw std::runtime_error("a control frame of " + std::to_string(length) +
                             " bytes (the limit is " + std::to_string(max_frame) + ")");
  }
  f.body.resize(length);
  if (length > 0 && !read_exactly(socket, f.body, deadline)) {
    throw std::runtime_error("the control connection closed in the middle of a frame");
  }
  return f;
}

wire_writer& wire_writer::u8(std::uint8_t v) {
  bytes_.push_back(std::byte{v});
  return *this;
}

wire_writer& wire_writer::u32(std::uint32_t v) {
  for (int i = 0; i < 4; ++i) bytes_.push_back(static_cast<std::byte>(v >> (8 * i)));
  return *this;
}

wire_writer& wire_writer::u64(std::uint64_t v) {
  for (int i = 0; i < 8; ++i) bytes_.push_back(static_cast<std::byte>(v >> (8 * i)));
  return *this;
}

wire_writer& wire_writer::f64(double v) { return u64(std::bit_cast<std::uint64_t>(v)); }

wire_writer& wire_writer::text(std::string_view v) {
  u32(static_cast<std::uint32_t>(v.size()));
  const auto b = std::as_bytes(std::span(v));
  bytes_.insert(bytes_.end(), b.begin(), b.end());
  return *this;
}

std::span<const std::byte> wire_reader::take(std::size_t n) {
  if (n > bytes_.size()) throw std::runtime_error("a control frame shorter than its contents");
  const auto taken = bytes_.first(n);
  bytes_ = bytes_.subspan(n);
  return taken;
}

std::uint8_t wire_reader::u8() { return static_cast<std::uint8_t>(little_endian(take(1))); }
std::uint32_t wire_reader::u32() { return static_cast<std::uint32_t>(little_endian(take(4))); }
std::uint64_t wire_reader::u64() { return little_endian(take(8)); }
double wire_reader::f64() { return std::bit_cast<double>(u64()); }

std::string wire_reader::text() {
  const std::uint32_t size = u32();
  if (size > max_text) throw std::runtime_error("a control frame's text is too long");
  const auto b = take(size);
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

wire_writer encode(const run_request& r) {
  wire_writer w;
  w.u8(static_cast<std::uint8_t>(r.w)).text(r.transport);
  w.u64(r.pool.message_size).u64(r.pool.slots).u64(r.pool.seed).u64(r.count);
  w.u64(static_cast<std::uint64_t>(r.stall_timeout.count()));
  w.u8(r.inject_corruption ? 1 : 0).u64(static_cast<std::uint64_t>(r.inject_stall.count()));
  return w;
}

run_request decode_run_request(std::span<const std::byte> body) {
  wire_reader in(body);
  run_request r;
  const std::uint8_t w = in.u8();
  if (w != static_cast<std::uint8_t>(workload::throughput) &&
      w != static_cast<std::uint8_t>(workload::latency)) {
    throw std::runtime_error("a follower on another host runs throughput and latency only");
  }
  r.w = static_cast<workload>(w);
  r.transport = in.text();
  r.pool.message_size = in.u64();
  r.pool.slots = in.u64();
  r.pool.seed = in.u64();
  r.count = in.u64();
  const std::uint64_t stall_ms = in.u64();
  r.inject_corruption = in.u8() != 0;
  const std::uint64_t inject_stall_ms = in.u64();
  // Bounds before anything is sized by them: a message of at most payload_pool::max_bytes, a
  // pool of at most twice that (two slots of the largest message), as payload_pool makes them.
  const std::size_t size = r.pool.message_size;
  if (size > payload_pool::max_bytes) throw std::runtime_error("message size over 1 GiB");
  if (r.pool.slots < payload_pool::min_slots ||
      r.pool.slots > std::max<std::size_t>(payload_pool::max_bytes / std::max<std::size_t>(size, 1),
                                           payload_pool::min_slots)) {
    throw std::runtime_error("a payload pool of " + std::to_string(r.pool.slots) +
                             " slots is out of bounds for " + std::to_string(size) + " B messages");
  }
  if (r.count == 0 || r.count > max_messages)
    throw std::runtime_error("message count out of bounds");
  if (stall_ms == 0 || stall_ms > std::uint64_t(max_stall_timeout.count()) ||
      inject_stall_ms > std::uint64_t(max_stall_timeout.count())) {
    throw std::runtime_error("stall timeout out of bounds");
  }
  r.stall_timeout = std::chrono::milliseconds(stall_ms);
  r.inject_stall = std::chrono::milliseconds(inject_stall_ms);
  return r;
}

wire_writer encode(const role_report& report) {
  wire_writer w;
  w.u8(report.ok ? 1 : 0).f64(report.elapsed_s).f64(report.cpu_s);
  w.u64(report.messages_checked).u64(report.bytes_checked);
  const latency_summary& l = report.latency;
  w.u64(l.p50_ns).u64(l.p90_ns).u64(l.p99_ns).u64(l.p999_ns).u64(l.max_ns);
  w.text(report.error);
  return w;
}

role_report decode_role_report(std::span<const std::byte> body) {
  wire_reader in(body);
  role_report report;
  report.ok = in.u8() != 0;
  report.elapsed_s = in.f64();
  report.cpu_s = in.f64();
  report.messages_checked = in.u64();
  report.bytes_checked = in.u64();
  latency_summary& l = report.latency;
  l.p50_ns = in.u64();
  l.p90_ns = in.u64();
  l.p99_ns = in.u64();
  l.p999_ns = in.u64();
  l.max_ns = in.u64();
  report.set_error(in.text());
  return report;
}

wire_writer encode_hello(const host_fact_list& facts) {
  wire_writer w;
  w.u32(remote_protocol_version).u32(static_cast<std::uint32_t>(facts.size()));
  for (const auto& [key, value] : facts) w.text(key).text(value);
  return w;
}

host_fact_list decode_hello(std::span<const std::byte> body) {
  wire_reader in(body);
  const std::uint32_t version = in.u32();
  if (version != remote_protocol_version) {
    throw std::runtime_error("the peer speaks protocol " + std::to_string(version) +
                             ", this pipebench " + std::to_string(remote_protocol_version) +
                             " (build both from one source)");
  }
  const std::uint32_t count = in.u32();
  if (count > max_facts) throw std::runtime_error("too many host facts");
  host_fact_list facts;
  for (std::uint32_t i = 0; i < count; ++i) {
    std::string key = in.text();
    facts.emplace_back(std::move(key), in.text());
  }
  return facts;
}

wire_writer encode_refusal(bool skipped, std::string_view reason) {
  wire_writer w;
  w.u8(skipped ? 1 : 0).text(reason);
  return w;
}

std::pair<bool, std::string> decode_refusal(std::span<const std::byte> body) {
  wire_reader in(body);
  const bool skipped = in.u8() != 0;
  return {skipped, in.text()};
}

std::optional<frame> relay_link(const pipes::fd& control, const pipes::fd& link,
                                bool end_on_link_eof) {
  bool link_open = true;
  for (;;) {
    pollfd fds[2] = {{control.get(), POLLIN, 0}, {link_open ? link.get() : -1, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      throw_errno("poll");
    }
    if (fds[0].revents != 0) {
      std::optional<frame> f = receive_frame(control, std::chrono::milliseconds(-1));
      if (!f) throw std::runtime_error("the control connection closed");
      if (f->type != frame_type::link) return f;
      pipes::write_all(link, f->body);
    }
    if (fds[1].revents != 0) {
      std::byte bytes[4096];
      const std::size_t n = link.read(bytes);
      if (n > 0) {
        send_frame(control, frame_type::link, std::span(bytes, n));
      } else if (end_on_link_eof) {
        return std::nullopt;
      } else {
        link_open = false;  // the role beside the stand-in has ended; the frames go on
      }
    }
  }
}

}  // namespace harness
