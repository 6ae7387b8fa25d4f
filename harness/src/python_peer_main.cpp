// pipebench_python_peer: the C++ side of scripts/python_baselines' py_from_tuned_pipe rows. A
// `pipes` sender (throughput) or pinger (latency) with default options, talking to a Python
// receiver or echoer that uses multiprocessing.connection's recv_bytes/send_bytes.
//
//   pipebench_python_peer --role sender|pinger --write-fd N [--read-fd N] [--ack-fd N]
//                         --size BYTES --slots N --count N --seed S
//
// The messages are python_baselines' PayloadPool, byte for byte: message `seq` is slot
// `seq % slots` of the first slots * size bytes of random.Random(seed).randbytes(n), n being
// slots * size rounded up to whole 32-bit words, with `seq` stamped little-endian into its
// first min(size, 8) bytes. The slot count comes from Python (it follows the host's last-level
// cache there), so the sizing rule lives in one place. Python's Random is MT19937 seeded with
// init_by_array over the seed's 32-bit words (least significant first), and randbytes(n) is
// getrandbits(8 n).to_bytes(n, "little"): 32-bit outputs laid down little-endian, the last one
// shifted right to the bits still needed. This file reproduces exactly that, so the Python side
// checks every byte against its own pool with no help from here.
//
// Protocol with the Python process that started it (stdin/stdout):
//   -> "ready\n" once the pool is built (the clock has not started)
//   <- "go\n"
//   -> "done ELAPSED_NS CPU_NS MESSAGES_CHECKED BYTES_CHECKED SAMPLES\n", then SAMPLES round trip
//      times in nanoseconds as little-endian uint64 (the pinger only).
// The sender's clock stops when the receiver's acknowledgement (a Connection message of 8 bytes,
// little-endian count, on --ack-fd) arrives. CPU is this process's user + system time over the
// timed phase. Errors go to stderr with exit status 1. The process dies with its parent.
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <pipes/connection.hpp>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace {

// CPython's Modules/_randommodule.c: MT19937 with init_by_array seeding.
class python_random {
 public:
  explicit python_random(std::uint64_t seed) {
    std::vector<std::uint32_t> key;
    for (std::uint64_t s = seed; s != 0; s >>= 32) key.push_back(static_cast<std::uint32_t>(s));
    if (key.empty()) key.push_back(0);
    init_by_array(key);
  }

  std::uint32_t next() {
    constexpr std::uint32_t upper = 0x80000000u;
    constexpr std::uint32_t lower = 0x7fffffffu;
    constexpr std::uint32_t matrix_a = 0x9908b0dfu;
    if (index_ >= n) {
      for (std::size_t k = 0; k < n; ++k) {
        const std::uint32_t y = (mt_[k] & upper) | (mt_[(k + 1) % n] & lower);
        mt_[k] = mt_[(k + m) % n] ^ (y >> 1) ^ ((y & 1u) ? matrix_a : 0u);
      }
      index_ = 0;
    }
    std::uint32_t y = mt_[index_++];
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    y ^= y >> 18;
    return y;
  }

  // random.Random.randbytes(out.size()).
  void randbytes(std::span<std::byte> out) {
    std::size_t i = 0;
    for (; i + 4 <= out.size(); i += 4) {
      const std::uint32_t word = next();
      for (std::size_t b = 0; b < 4; ++b) out[i + b] = static_cast<std::byte>(word >> (8 * b));
    }
    const std::size_t rest = out.size() - i;
    if (rest > 0) {
      const std::uint32_t word = next() >> (32 - 8 * rest);  // getrandbits keeps the top bits
      for (std::size_t b = 0; b < rest; ++b) out[i + b] = static_cast<std::byte>(word >> (8 * b));
    }
  }

 private:
  static constexpr std::size_t n = 624;
  static constexpr std::size_t m = 397;

  void init_genrand(std::uint32_t s) {
    mt_[0] = s;
    for (std::size_t i = 1; i < n; ++i) {
      mt_[i] = 1812433253u * (mt_[i - 1] ^ (mt_[i - 1] >> 30)) + static_cast<std::uint32_t>(i);
    }
    index_ = n;
  }

  void init_by_array(const std::vector<std::uint32_t>& key) {
    init_genrand(19650218u);
    std::size_t i = 1;
    std::size_t j = 0;
    for (std::size_t k = std::max(n, key.size()); k > 0; --k) {
      mt_[i] = (mt_[i] ^ ((mt_[i - 1] ^ (mt_[i - 1] >> 30)) * 1664525u)) + key[j] +
               static_cast<std::uint32_t>(j);
      ++i;
      ++j;
      if (i >= n) {
        mt_[0] = mt_[n - 1];
        i = 1;
      }
      if (j >= key.size()) j = 0;
    }
    for (std::size_t k = n - 1; k > 0; --k) {
      mt_[i] = (mt_[i] ^ ((mt_[i - 1] ^ (mt_[i - 1] >> 30)) * 1566083941u)) -
               static_cast<std::uint32_t>(i);
      ++i;
      if (i >= n) {
        mt_[0] = mt_[n - 1];
        i = 1;
      }
    }
    mt_[0] = 0x80000000u;
  }

  std::array<std::uint32_t, n> mt_{};
  std::size_t index_ = n;
};

// python_baselines' PayloadPool (sender side).
class payload_pool {
 public:
  static constexpr std::size_t stamp_size = 8;

  // Python's pool is the start of a stream of whole 32-bit words: the same bytes here.
  payload_pool(std::size_t message_size, std::size_t slots, std::uint64_t seed)
      : size_(message_size), slots_(slots), bytes_((size_ * slots_ + 3) / 4 * 4) {
    python_random(seed).randbytes(bytes_);
  }

  // Stamps `seq` into its slot and returns the slot.
  std::span<const std::byte> message(std::uint64_t seq) {
    const std::span<std::byte> slot(bytes_.data() + (seq % slots_) * size_, size_);
    const std::size_t stamp = std::min(size_, stamp_size);
    for (std::size_t i = 0; i < stamp; ++i) slot[i] = static_cast<std::byte>(seq >> (8 * i));
    return slot;
  }

 private:
  std::size_t size_;
  std::size_t slots_;
  std::vector<std::byte> bytes_;
};

struct arguments {
  std::string role;
  int write_fd = -1;
  int read_fd = -1;
  int ack_fd = -1;
  std::uint64_t size = 0;
  std::uint64_t slots = 0;
  std::uint64_t count = 0;
  std::uint64_t seed = 0;
};

std::uint64_t parse_number(std::string_view name, std::string_view text) {
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) {
    throw std::invalid_argument("bad " + std::string(name) + ": " + std::string(text));
  }
  return value;
}

arguments parse(int argc, char** argv) {
  arguments a;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view flag = argv[i];
    const std::string_view value = argv[i + 1];
    if (flag == "--role") {
      a.role = value;
    } else if (flag == "--write-fd") {
      a.write_fd = static_cast<int>(parse_number(flag, value));
    } else if (flag == "--read-fd") {
      a.read_fd = static_cast<int>(parse_number(flag, value));
    } else if (flag == "--ack-fd") {
      a.ack_fd = static_cast<int>(parse_number(flag, value));
    } else if (flag == "--size") {
      a.size = parse_number(flag, value);
    } else if (flag == "--slots") {
      a.slots = parse_number(flag, value);
    } else if (flag == "--count") {
      a.count = parse_number(flag, value);
    } else if (flag == "--seed") {
      a.seed = parse_number(flag, value);
    } else {
      throw std::invalid_argument("unknown flag " + std::string(flag));
    }
  }
  if (a.role == "sender" && (a.write_fd < 0 || a.ack_fd < 0)) {
    throw std::invalid_argument("the sender needs --write-fd and --ack-fd");
  }
  if (a.role == "pinger" && (a.write_fd < 0 || a.read_fd < 0)) {
    throw std::invalid_argument("the pinger needs --write-fd and --read-fd");
  }
  if (a.role != "sender" && a.role != "pinger") {
    throw std::invalid_argument("--role must be sender or pinger");
  }
  if (a.slots == 0) throw std::invalid_argument("--slots must be given (at least 1)");
  return a;
}

std::int64_t cpu_ns() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  auto ns = [](const timeval& t) {
    return static_cast<std::int64_t>(t.tv_sec) * 1'000'000'000 +
           static_cast<std::int64_t>(t.tv_usec) * 1000;
  };
  return ns(usage.ru_utime) + ns(usage.ru_stime);
}

void say(const std::string& line) {
  std::fputs(line.c_str(), stdout);
  if (std::fflush(stdout) != 0) throw std::runtime_error("cannot write to the parent");
}

void wait_for_go() {
  char line[16] = {};
  if (std::fgets(line, sizeof line, stdin) == nullptr || std::string_view(line) != "go\n") {
    throw std::runtime_error("the parent did not say go");
  }
}

struct outcome {
  std::int64_t elapsed_ns = 0;
  std::int64_t cpu_ns = 0;
  std::uint64_t messages_checked = 0;
  std::uint64_t bytes_checked = 0;
  std::vector<std::uint64_t> samples;
};

outcome run_sender(const arguments& a, payload_pool& pool) {
  auto data = pipes::Connection::adopt(-1, a.write_fd);
  auto ack = pipes::Connection::adopt(a.ack_fd, -1);
  std::array<std::byte, 8> acknowledged{};
  say("ready\n");
  wait_for_go();
  outcome out;
  const std::int64_t cpu_start = cpu_ns();
  const auto start = std::chrono::steady_clock::now();
  for (std::uint64_t seq = 0; seq < a.count; ++seq) data.send_bytes(pool.message(seq));
  const std::size_t got = ack.recv_bytes_into(acknowledged);
  const auto stop = std::chrono::steady_clock::now();
  out.cpu_ns = cpu_ns() - cpu_start;
  out.elapsed_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(stop - start).count();
  std::uint64_t count = 0;
  for (std::size_t i = 0; i < got && i < 8; ++i) {
    count |= std::to_integer<std::uint64_t>(acknowledged[i]) << (8 * i);
  }
  if (got != 8 || count != a.count) {
    throw std::runtime_error("the receiver acknowledged " + std::to_string(count) + " of " +
                             std::to_string(a.count) + " messages");
  }
  return out;
}

outcome run_pinger(const arguments& a, payload_pool& pool) {
  auto data = pipes::Connection::adopt(a.read_fd, a.write_fd);
  std::vector<std::byte> echo(std::max<std::size_t>(a.size, 1));
  outcome out;
  out.samples.assign(a.count, 0);  // allocated (and touched) before the clock starts
  say("ready\n");
  wait_for_go();
  const std::int64_t cpu_start = cpu_ns();
  const auto start = std::chrono::steady_clock::now();
  for (std::uint64_t seq = 0; seq < a.count; ++seq) {
    const auto sent = std::chrono::steady_clock::now();
    const auto message = pool.message(seq);
    data.send_bytes(message);
    const std::size_t got = data.recv_bytes_into(echo);
    if (got != message.size() || std::memcmp(echo.data(), message.data(), got) != 0) {
      throw std::runtime_error("message " + std::to_string(seq) +
                               ": the echo differs from what was sent");
    }
    out.samples[seq] =
        static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                       std::chrono::steady_clock::now() - sent)
                                       .count());
  }
  const auto stop = std::chrono::steady_clock::now();
  out.cpu_ns = cpu_ns() - cpu_start;
  out.elapsed_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(stop - start).count();
  out.messages_checked = a.count;
  out.bytes_checked = a.count * a.size;
  return out;
}

void report(const outcome& out) {
  say("done " + std::to_string(out.elapsed_ns) + " " + std::to_string(out.cpu_ns) + " " +
      std::to_string(out.messages_checked) + " " + std::to_string(out.bytes_checked) + " " +
      std::to_string(out.samples.size()) + "\n");
  std::vector<unsigned char> raw(out.samples.size() * 8);
  for (std::size_t s = 0; s < out.samples.size(); ++s) {
    for (std::size_t b = 0; b < 8; ++b) raw[8 * s + b] = (out.samples[s] >> (8 * b)) & 0xff;
  }
  // No fwrite of an empty vector: its null data() is undefined behaviour for fwrite.
  if ((!raw.empty() && std::fwrite(raw.data(), 1, raw.size(), stdout) != raw.size()) ||
      std::fflush(stdout) != 0) {
    throw std::runtime_error("cannot write the round trip times");
  }
}

}  // namespace

int main(int argc, char** argv) {
  const pid_t parent = ::getppid();
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the Python process that started us
  if (::getppid() != parent) return 1;
  try {
    const arguments a = parse(argc, argv);
    payload_pool pool(a.size, a.slots, a.seed);
    const outcome out = a.role == "sender" ? run_sender(a, pool) : run_pinger(a, pool);
    report(out);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pipebench_python_peer: %s\n", e.what());
    return 1;
  }
}
