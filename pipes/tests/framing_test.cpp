// Python's framing through real pipes: every size class with every lever, the exact bytes on the
// wire, the 8-byte header, and every way a stream can end or lie.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <thread>

#include "allocation_probe.hpp"
#include "pipes/connection.hpp"
#include "pipes/frame.hpp"
#include "syscalls.hpp"
#include "test_support.hpp"

namespace {

using pipes_test::bytes_of;
using pipes_test::pattern;

struct lever_case {
  const char* name;
  pipes::options opts;
};

// Names the case in gtest's output instead of dumping its bytes.
void PrintTo(const lever_case& c, std::ostream* out) { *out << c.name; }

pipes::options with(void (*change)(pipes::options&)) {
  pipes::options opts;
  change(opts);
  return opts;
}

const lever_case lever_cases[] = {
    {"defaults", {}},
    {"no_gather", with([](pipes::options& o) { o.gather_writes = false; })},
    {"no_read_ahead", with([](pipes::options& o) { o.read_ahead = false; })},
    {"no_zero_copy", with([](pipes::options& o) { o.zero_copy = false; })},
    {"small_threshold", with([](pipes::options& o) { o.zero_copy_threshold = 1; })},
    {"default_pipe_size", with([](pipes::options& o) { o.pipe_capacity = 0; })},
    {"spin", with([](pipes::options& o) { o.spin = std::chrono::microseconds(50); })},
    {"all_off", pipes::levers_off()},
};

const std::size_t size_classes[] = {0,     1,     4,     16383,       16384,          16385,
                                    65535, 65536, 65537, 1024 * 1024, 1024 * 1024 + 3};

class Framing : public testing::TestWithParam<lever_case> {};

TEST_P(Framing, every_size_class_round_trips) {
  auto [reader, writer] = pipes::make_pipe(GetParam().opts);
  std::thread sender([&writer = writer] {
    for (int round = 0; round < 2; ++round) {
      for (std::size_t size : size_classes) writer.send_bytes(pattern(size, size + round));
    }
  });
  for (std::size_t size : size_classes) {
    EXPECT_EQ(reader.recv_bytes(), pattern(size, size)) << size;
  }
  std::vector<std::byte> buffer(2 << 20);
  for (std::size_t size : size_classes) {
    const std::size_t got = reader.recv_bytes_into(buffer);
    ASSERT_EQ(got, size);
    EXPECT_TRUE(std::ranges::equal(std::span(buffer).first(got), pattern(size, size + 1))) << size;
  }
  sender.join();
}

TEST_P(Framing, bytes_on_the_wire_are_pythons) {
  auto [raw_read, raw_write] = pipes::open_pipe();
  pipes::Connection writer(pipes::fd(), std::move(raw_write), GetParam().opts);
  const std::vector<std::byte> payload = pattern(100000, 7);
  std::thread sender([&writer = writer, &payload] {
    writer.send_bytes(bytes_of("hello"));
    writer.send_bytes(payload);
    writer.send_bytes({});
    writer.close();
  });
  std::vector<std::byte> wire(4 + 5 + 4 + payload.size() + 4);
  ASSERT_EQ(pipes::read_full(raw_read, wire), wire.size());
  sender.join();
  const std::byte hello_frame[] = {std::byte{0},   std::byte{0},   std::byte{0},
                                   std::byte{5},   std::byte{'h'}, std::byte{'e'},
                                   std::byte{'l'}, std::byte{'l'}, std::byte{'o'}};
  EXPECT_TRUE(std::ranges::equal(std::span(wire).first(9), hello_frame));
  const std::byte big_header[] = {std::byte{0}, std::byte{0x01}, std::byte{0x86},
                                  std::byte{0xa0}};  // 100000
  EXPECT_TRUE(std::ranges::equal(std::span(wire).subspan(9, 4), big_header));
  EXPECT_TRUE(std::ranges::equal(std::span(wire).subspan(13, payload.size()), payload));
  EXPECT_TRUE(
      std::ranges::all_of(std::span(wire).last(4), [](std::byte b) { return b == std::byte{0}; }));
  std::byte extra[1];
  EXPECT_EQ(pipes::read_full(raw_read, extra), 0u);  // nothing else was written
}

INSTANTIATE_TEST_SUITE_P(Levers, Framing, testing::ValuesIn(lever_cases),
                         [](const auto& info) { return std::string(info.param.name); });

// A reader fed raw bytes, as a peer that is not pipes (or is lying) would send them.
struct raw_peer {
  pipes::fd write_end;
  pipes::Connection reader;

  explicit raw_peer(const pipes::options& opts = {}) {
    auto [r, w] = pipes::open_pipe();
    write_end = std::move(w);
    reader = pipes::Connection(std::move(r), pipes::fd(), opts);
  }
  void send_raw(std::span<const std::byte> bytes) { pipes::write_all(write_end, bytes); }
  void send_raw(std::initializer_list<unsigned> bytes) {
    std::vector<std::byte> out;
    for (unsigned b : bytes) out.push_back(static_cast<std::byte>(b));
    send_raw(out);
  }
  void hang_up() { write_end.close(); }
};

TEST(Framing, recv_accepts_the_eight_byte_header) {
  for (bool read_ahead : {true, false}) {
    pipes::options opts;
    opts.read_ahead = read_ahead;
    raw_peer peer(opts);
    // -1, then 5 as an unsigned 64-bit big-endian length: what Python sends above 2^31 - 1 bytes.
    peer.send_raw({0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 5});
    peer.send_raw(bytes_of("hello"));
    peer.send_raw({0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0});  // an empty message
    peer.send_raw({0, 0, 0, 2, 'o', 'k'});
    EXPECT_EQ(pipes_test::text_of(peer.reader.recv_bytes()), "hello");
    EXPECT_TRUE(peer.reader.recv_bytes().empty());
    EXPECT_EQ(pipes_test::text_of(peer.reader.recv_bytes()), "ok");
  }
}

ssize_t read_one_byte(int fd, void* buf, size_t n) {
  return pipes::real_syscalls().read(fd, buf, n > 0 ? 1 : 0);
}
ssize_t readv_one_byte(int fd, const iovec* iov, int) {
  return pipes::real_syscalls().read(fd, iov[0].iov_base, iov[0].iov_len > 0 ? 1 : 0);
}

TEST(Framing, headers_split_across_reads_are_reassembled) {
  raw_peer peer;
  peer.send_raw({0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 3, 'a', 'b', 'c'});
  peer.send_raw({0, 0, 0, 1, 'd'});
  pipes::scoped_syscall reads(&pipes::syscall_table::read, &read_one_byte);
  pipes::scoped_syscall readvs(&pipes::syscall_table::readv, &readv_one_byte);
  EXPECT_EQ(pipes_test::text_of(peer.reader.recv_bytes()), "abc");
  EXPECT_EQ(pipes_test::text_of(peer.reader.recv_bytes()), "d");
}

TEST(Framing, recv_rejects_oversized_header_without_allocating) {
  pipes::options opts;
  opts.max_message_size = 1024;
  for (auto header : {std::vector<unsigned>{0x40, 0, 0, 0},  // 1 GiB
                      std::vector<unsigned>{0xff, 0xff, 0xff, 0xff, 0, 0, 1, 0, 0, 0, 0, 0}}) {
    raw_peer peer(opts);
    std::vector<std::byte> raw;
    for (unsigned b : header) raw.push_back(static_cast<std::byte>(b));
    peer.send_raw(raw);
    pipes_test::allocation_probe::reset();
    std::error_code ec;
    const auto message = peer.reader.recv_bytes(ec);
    EXPECT_EQ(ec, pipes::errc::message_too_large);
    EXPECT_TRUE(message.empty());
    EXPECT_LT(pipes_test::allocation_probe::largest(), 64u * 1024);
    // The stream is out of step for good: every later receive says so.
    EXPECT_THROW(peer.reader.recv_bytes(), pipes::error);
    std::byte buffer[16];
    peer.reader.recv_bytes_into(buffer, ec);
    EXPECT_EQ(ec, pipes::errc::message_too_large);
    EXPECT_TRUE(peer.reader.poll());
  }
}

TEST(Framing, recv_accepts_a_message_of_exactly_the_maximum) {
  pipes::options opts;
  opts.max_message_size = 1024;
  auto [reader, writer] = pipes::make_pipe(opts);
  writer.send_bytes(pattern(1024, 1));
  EXPECT_EQ(reader.recv_bytes(), pattern(1024, 1));
}

TEST(Framing, send_rejects_a_message_over_the_maximum_and_sends_nothing) {
  pipes::options opts;
  opts.max_message_size = 1024;
  auto [reader, writer] = pipes::make_pipe(opts);
  std::error_code ec;
  writer.send_bytes(pattern(1025, 1), ec);
  EXPECT_EQ(ec, pipes::errc::message_too_large);
  const auto small = pattern(10, 1);
  const auto big = pattern(2000, 1);
  const std::span<const std::byte> batch[] = {small, big};
  EXPECT_THROW(writer.send_batch(batch), pipes::error);
  EXPECT_THROW(writer.loan(1025), pipes::error);
  EXPECT_FALSE(reader.poll());
  writer.send_bytes(small);  // still usable
  EXPECT_EQ(reader.recv_bytes(), small);
}

TEST(Framing, recv_rejects_malformed_header) {
  raw_peer peer;
  peer.send_raw({0xff, 0xff, 0xff, 0xfe, 1, 2, 3});  // -2
  std::error_code ec;
  peer.reader.recv_bytes(ec);
  EXPECT_EQ(ec, pipes::errc::malformed_header);
  try {
    peer.reader.recv_bytes();
    ADD_FAILURE() << "no exception";
  } catch (const pipes::error& e) {
    EXPECT_EQ(e.code(), pipes::errc::malformed_header);
  }
}

TEST(Framing, eof_between_messages_is_peer_closed) {
  for (bool read_ahead : {true, false}) {
    pipes::options opts;
    opts.read_ahead = read_ahead;
    auto [reader, writer] = pipes::make_pipe(opts);
    writer.send_bytes(bytes_of("last"));
    writer.close();
    EXPECT_EQ(pipes_test::text_of(reader.recv_bytes()), "last");
    std::error_code ec;
    reader.recv_bytes(ec);
    EXPECT_EQ(ec, pipes::errc::peer_closed);
    reader.recv_bytes(ec);  // and again: end of file stays end of file
    EXPECT_EQ(ec, pipes::errc::peer_closed);
    EXPECT_TRUE(reader.poll());
  }
}

TEST(Framing, eof_inside_header_is_peer_closed_mid_message) {
  for (bool read_ahead : {true, false}) {
    pipes::options opts;
    opts.read_ahead = read_ahead;
    raw_peer peer(opts);
    peer.send_raw({0, 0});
    peer.hang_up();
    std::error_code ec;
    peer.reader.recv_bytes(ec);
    EXPECT_EQ(ec, pipes::errc::peer_closed_mid_message);
  }
  raw_peer long_header;
  long_header.send_raw({0xff, 0xff, 0xff, 0xff, 0, 0});
  long_header.hang_up();
  std::byte buffer[8];
  std::error_code ec;
  long_header.reader.recv_bytes_into(buffer, ec);
  EXPECT_EQ(ec, pipes::errc::peer_closed_mid_message);
}

TEST(Framing, eof_inside_payload_is_peer_closed_mid_message) {
  for (std::size_t promised : {10u, 100000u}) {  // buffered and direct payload reads
    for (bool read_ahead : {true, false}) {
      pipes::options opts;
      opts.read_ahead = read_ahead;
      raw_peer peer(opts);
      const auto header = pipes::encode_frame_header(promised);
      peer.send_raw(header.view());
      peer.send_raw(bytes_of("abc"));
      peer.hang_up();
      std::vector<std::byte> buffer(promised);
      std::error_code ec;
      peer.reader.recv_bytes_into(buffer, ec);
      EXPECT_EQ(ec, pipes::errc::peer_closed_mid_message) << promised << read_ahead;
      peer.reader.recv_bytes(ec);
      EXPECT_EQ(ec, pipes::errc::peer_closed_mid_message);
    }
  }
}

int write_calls = 0;
ssize_t counting_write(int fd, const void* buf, size_t n) {
  ++write_calls;
  return pipes::real_syscalls().write(fd, buf, n);
}
ssize_t counting_writev(int fd, const iovec* iov, int count) {
  ++write_calls;
  return pipes::real_syscalls().writev(fd, iov, count);
}

TEST(Framing, without_gather_writes_python_splits_only_above_16_KiB) {
  pipes::options opts;
  opts.gather_writes = false;
  opts.zero_copy = false;
  auto [reader, writer] = pipes::make_pipe(opts);
  pipes::scoped_syscall w(&pipes::syscall_table::write, &counting_write);
  pipes::scoped_syscall wv(&pipes::syscall_table::writev, &counting_writev);
  write_calls = 0;
  writer.send_bytes(pattern(16384, 1));
  EXPECT_EQ(write_calls, 1);
  write_calls = 0;
  writer.send_bytes(pattern(16385, 2));
  EXPECT_EQ(write_calls, 2);
  EXPECT_EQ(reader.recv_bytes(), pattern(16384, 1));
  EXPECT_EQ(reader.recv_bytes(), pattern(16385, 2));
}

TEST(Framing, gathered_send_is_one_system_call) {
  pipes::options opts;
  opts.zero_copy = false;
  auto [reader, writer] = pipes::make_pipe(opts);
  pipes::scoped_syscall w(&pipes::syscall_table::write, &counting_write);
  pipes::scoped_syscall wv(&pipes::syscall_table::writev, &counting_writev);
  for (std::size_t size : {1u, 300u, 16385u, 100000u}) {
    write_calls = 0;
    writer.send_bytes(pattern(size, size));
    EXPECT_EQ(write_calls, 1) << size;
    EXPECT_EQ(reader.recv_bytes(), pattern(size, size));
  }
}

}  // namespace
