// Batching, gathering and read-ahead: random message sizes, random read chunking and short,
// interrupted or would-block writes injected through the seam. Data must arrive whole and in
// order whatever the kernel does.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <thread>

#include "pipes/connection.hpp"
#include "syscalls.hpp"
#include "test_support.hpp"

namespace {

using pipes_test::pattern;
using pipes_test::rng;

// Faults shared by the fakes below. Set up before threads start, read-only while they run (the
// generators are per-fake and each fake is used by one thread only).
struct fault_plan {
  bool short_reads = false;
  bool short_writes = false;
  bool interrupt = false;    // EINTR now and then
  bool would_block = false;  // EAGAIN now and then (the library then polls)
};
fault_plan faults;
thread_local rng fault_gen(42);
int read_calls = 0;
int write_calls = 0;

bool inject_error() {
  if (faults.interrupt && fault_gen.next() % 7 == 0) {
    errno = EINTR;
    return true;
  }
  if (faults.would_block && fault_gen.next() % 11 == 0) {
    errno = EAGAIN;
    return true;
  }
  return false;
}

std::size_t shorten(std::size_t n, bool enabled) {
  return enabled && n > 1 ? fault_gen.between(1, n) : n;
}

ssize_t fake_read(int fd, void* buf, size_t n) {
  ++read_calls;
  if (inject_error()) return -1;
  return pipes::real_syscalls().read(fd, buf, shorten(n, faults.short_reads));
}

ssize_t fake_readv(int fd, const iovec* iov, int count) {
  ++read_calls;
  if (inject_error()) return -1;
  if (!faults.short_reads) return pipes::real_syscalls().readv(fd, iov, count);
  return pipes::real_syscalls().read(fd, iov[0].iov_base, shorten(iov[0].iov_len, true));
}

ssize_t fake_writev(int fd, const iovec* iov, int count) {
  ++write_calls;
  if (inject_error()) return -1;
  if (!faults.short_writes) return pipes::real_syscalls().writev(fd, iov, count);
  // Write a random prefix of the iovecs, possibly ending inside one.
  std::size_t total = 0;
  for (int i = 0; i < count; ++i) total += iov[i].iov_len;
  std::size_t budget = shorten(total, true);
  std::vector<iovec> prefix;
  for (int i = 0; i < count && budget > 0; ++i) {
    const std::size_t n = std::min(budget, iov[i].iov_len);
    prefix.push_back({iov[i].iov_base, n});
    budget -= n;
  }
  return pipes::real_syscalls().writev(fd, prefix.data(), static_cast<int>(prefix.size()));
}

ssize_t fake_write(int fd, const void* buf, size_t n) {
  iovec one{const_cast<void*>(buf), n};
  return fake_writev(fd, &one, 1);
}

ssize_t fake_vmsplice(int fd, const iovec* iov, unsigned long count, unsigned int flags) {
  ++write_calls;
  if (inject_error()) return -1;
  iovec first = iov[0];
  first.iov_len = shorten(first.iov_len, faults.short_writes);
  (void)count;
  return pipes::real_syscalls().vmsplice(fd, &first, 1, flags);
}

class faulty_io {
 public:
  explicit faulty_io(fault_plan plan) {
    faults = plan;
    read_calls = write_calls = 0;
  }
  ~faulty_io() { faults = {}; }

 private:
  pipes::scoped_syscall<decltype(pipes::syscall_table::read)> read_{&pipes::syscall_table::read,
                                                                    &fake_read};
  pipes::scoped_syscall<decltype(pipes::syscall_table::readv)> readv_{&pipes::syscall_table::readv,
                                                                      &fake_readv};
  pipes::scoped_syscall<decltype(pipes::syscall_table::write)> write_{&pipes::syscall_table::write,
                                                                      &fake_write};
  pipes::scoped_syscall<decltype(pipes::syscall_table::writev)> writev_{
      &pipes::syscall_table::writev, &fake_writev};
  pipes::scoped_syscall<decltype(pipes::syscall_table::vmsplice)> vmsplice_{
      &pipes::syscall_table::vmsplice, &fake_vmsplice};
};

// Mostly small messages with a few large ones (zero copy) mixed in.
std::size_t message_size(rng& gen) {
  const auto roll = gen.next() % 100;
  if (roll < 70) return gen.between(0, 300);
  if (roll < 95) return gen.between(300, 20000);
  return gen.between(60000, 400000);
}

// Sends `count` messages through every send call in random groups; receives them with random
// receive calls; checks each.
void send_everything_every_way(const pipes::options& opts, int count, std::uint64_t seed) {
  auto [reader, writer] = pipes::make_pipe(opts);
  std::thread sender([&writer = writer, count, seed] {
    rng gen(seed);
    rng cuts(seed + 2);  // separate, so that the receiver can replay `gen`
    std::vector<std::vector<std::byte>> storage;
    std::vector<std::span<const std::byte>> batch;
    for (int i = 0; i < count;) {
      const int group = static_cast<int>(gen.between(1, 40));
      storage.clear();
      batch.clear();
      for (int j = 0; j < group && i < count; ++j, ++i) {
        storage.push_back(pattern(message_size(gen), seed + i));
      }
      for (const auto& m : storage) batch.push_back(m);
      switch (gen.next() % 4) {
        case 0:
          writer.send_batch(batch);
          break;
        case 1:
          for (const auto& m : storage) writer.send_bytes(m);
          break;
        case 2:
          for (const auto& m : storage) {
            // The same message cut into parts at random points.
            std::vector<std::span<const std::byte>> parts;
            std::span<const std::byte> rest = m;
            while (!rest.empty()) {
              const std::size_t n = cuts.between(0, rest.size());
              parts.push_back(rest.first(n));
              rest = rest.subspan(n);
            }
            writer.send_parts(parts);
          }
          break;
        default:
          for (const auto& m : storage) {
            const auto loan = writer.loan(m.size() + 10);
            if (!m.empty()) std::memcpy(loan.data(), m.data(), m.size());
            writer.commit(m.size());
          }
      }
    }
    writer.close();
  });
  rng sizes(seed);
  rng how(seed + 1);
  std::vector<std::byte> buffer(1 << 20);
  for (int i = 0; i < count;) {
    const int group = static_cast<int>(sizes.between(1, 40));
    std::vector<std::size_t> expected_sizes;
    for (int j = 0; j < group && i + j < count; ++j) expected_sizes.push_back(message_size(sizes));
    sizes.next();  // the sender's choice of call
    for (std::size_t size : expected_sizes) {
      const auto expected = pattern(size, seed + i);
      if (how.next() % 2 == 0) {
        ASSERT_EQ(reader.recv_bytes(), expected) << "message " << i;
      } else {
        const std::size_t n = reader.recv_bytes_into(buffer);
        ASSERT_EQ(n, size) << "message " << i;
        ASSERT_TRUE(std::ranges::equal(std::span(buffer).first(n), expected)) << "message " << i;
      }
      ++i;
    }
  }
  std::error_code ec;
  reader.recv_bytes(ec);
  EXPECT_EQ(ec, pipes::errc::peer_closed);
  sender.join();
}

pipes::options small_pipe() {
  pipes::options opts;
  opts.pipe_capacity = 64 * 1024;
  opts.zero_copy_threshold = 16 * 1024;
  return opts;
}

TEST(Batching, random_sizes_arrive_whole_and_in_order) {
  send_everything_every_way(pipes::options{}, 3000, 1);
  send_everything_every_way(small_pipe(), 3000, 2);
}

TEST(Batching, survive_short_reads_of_every_length) {
  faulty_io io({.short_reads = true});
  send_everything_every_way(pipes::options{}, 1500, 3);
  pipes::options exact = small_pipe();
  exact.read_ahead = false;
  send_everything_every_way(exact, 1500, 4);
}

TEST(Batching, survive_short_interrupted_and_would_block_writes) {
  faulty_io io({.short_writes = true, .interrupt = true, .would_block = true});
  send_everything_every_way(small_pipe(), 1500, 5);
  pipes::options python_style = small_pipe();
  python_style.gather_writes = false;
  send_everything_every_way(python_style, 1500, 6);
}

TEST(Batching, survive_everything_at_once) {
  faulty_io io({.short_reads = true, .short_writes = true, .interrupt = true, .would_block = true});
  send_everything_every_way(small_pipe(), 1500, 7);
}

TEST(Batching, a_batch_beyond_iov_max_takes_few_system_calls) {
  auto [reader, writer] = pipes::make_pipe();
  if (writer.capacity() < (1u << 20)) GTEST_SKIP() << "needs a 1 MiB pipe";
  std::vector<std::vector<std::byte>> storage;
  std::vector<std::span<const std::byte>> batch;
  for (int i = 0; i < 5000; ++i) storage.push_back(pattern(i % 2 ? 64 : 300, i));
  for (const auto& m : storage) batch.push_back(m);
  faulty_io io({});
  writer.send_batch(batch);  // 930 KB: fits the pipe, so no reader is needed yet
  // Headers and small payloads coalesce; a 300-byte payload is an iovec of its own.
  EXPECT_LE(write_calls, 10);
  for (int i = 0; i < 5000; ++i) ASSERT_EQ(reader.recv_bytes(), storage[i]) << i;
  // Read-ahead: one read() of 64 KiB carries hundreds of frames.
  EXPECT_LE(read_calls, 20);
}

TEST(Batching, send_parts_with_more_parts_than_iov_max_is_one_message) {
  auto [reader, writer] = pipes::make_pipe();
  const auto message = pattern(3000 * 300, 9);
  std::vector<std::span<const std::byte>> parts;
  for (std::size_t at = 0; at < message.size(); at += 300) {
    parts.push_back(std::span(message).subspan(at, 300));
    parts.push_back({});  // empty parts are fine too
  }
  std::thread sender([&writer = writer, &parts] { writer.send_parts(parts); });
  EXPECT_EQ(reader.recv_bytes(), message);
  sender.join();
}

// The destination buffer of the last recv_bytes_into, to see where reads land.
const std::byte* destination_begin = nullptr;
const std::byte* destination_end = nullptr;
std::size_t bytes_read_into_destination = 0;

ssize_t watching_read(int fd, void* buf, size_t n) {
  const ssize_t got = pipes::real_syscalls().read(fd, buf, n);
  if (got > 0 && buf >= destination_begin && buf < destination_end) {
    bytes_read_into_destination += static_cast<std::size_t>(got);
  }
  return got;
}

ssize_t watching_readv(int fd, const iovec* iov, int count) {
  const ssize_t got = pipes::real_syscalls().readv(fd, iov, count);
  if (got > 0 && iov[0].iov_base >= destination_begin && iov[0].iov_base < destination_end) {
    bytes_read_into_destination +=
        std::min<std::size_t>(static_cast<std::size_t>(got), iov[0].iov_len);
  }
  return got;
}

TEST(Batching, large_payloads_are_read_straight_into_the_destination) {
  auto [reader, writer] = pipes::make_pipe();
  std::vector<std::byte> buffer(4 << 20);
  destination_begin = buffer.data();
  destination_end = buffer.data() + buffer.size();
  bytes_read_into_destination = 0;
  pipes::scoped_syscall r(&pipes::syscall_table::read, &watching_read);
  pipes::scoped_syscall rv(&pipes::syscall_table::readv, &watching_readv);
  constexpr std::size_t size = 3 << 20;
  std::thread sender([&writer = writer] {
    for (int i = 0; i < 4; ++i) writer.send_bytes(pattern(size, i));
  });
  for (int i = 0; i < 4; ++i) {
    ASSERT_EQ(reader.recv_bytes_into(buffer), size);
    ASSERT_TRUE(std::ranges::equal(std::span(buffer).first(size), pattern(size, i)));
  }
  sender.join();
  // Only what came along with a header (at most one read-ahead buffer) may have been copied.
  EXPECT_GE(bytes_read_into_destination, 4 * size - 4 * (64u << 10));
}

ssize_t fail_after_some(int fd, const iovec* iov, int) {
  // Writes two bytes of the frame, then fails: the stream is left mid-frame.
  static bool wrote = false;
  if (!wrote) {
    wrote = true;
    return pipes::real_syscalls().write(fd, iov[0].iov_base, 2);
  }
  errno = EIO;
  return -1;
}
ssize_t fail_at_once(int, const iovec*, int) {
  errno = EIO;
  return -1;
}

TEST(Batching, a_write_error_before_any_byte_leaves_the_connection_usable) {
  auto [reader, writer] = pipes::make_pipe();
  {
    pipes::scoped_syscall broken(&pipes::syscall_table::writev, &fail_at_once);
    std::error_code ec;
    writer.send_bytes(pattern(10, 1), ec);
    EXPECT_EQ(ec, std::errc::io_error);
  }
  writer.send_bytes(pattern(10, 2));
  EXPECT_EQ(reader.recv_bytes(), pattern(10, 2));
}

TEST(Batching, a_write_error_mid_frame_makes_the_send_side_unusable) {
  auto [reader, writer] = pipes::make_pipe();
  {
    pipes::scoped_syscall broken(&pipes::syscall_table::writev, &fail_after_some);
    std::error_code ec;
    writer.send_bytes(pattern(10, 1), ec);
    EXPECT_EQ(ec, std::errc::io_error);
  }
  std::error_code ec;
  writer.send_bytes(pattern(10, 2), ec);  // the peer could not find this frame's start
  EXPECT_EQ(ec, std::errc::io_error);
}

}  // namespace
