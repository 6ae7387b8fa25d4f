// pipebench_python_peer: the C++ side of scripts/python_baselines' py_from_tuned_pipe rows. A
// `pipes` sender (throughput) or pinger (latency) with default options, talking to a Python
// receiver or echoer that uses multiprocessing.connection's recv_bytes/send_bytes.
//
//   pipebench_python_peer --role sender|pinger --write-fd N [--read-fd N] [--ack-fd N]
//                         --size BYTES --slots N --count N --pool-fd N
//
// The messages are the Python harness's PayloadPool (scripts/python_harness/payload.py), byte
// for byte, because they are its bytes: --pool-fd is an inherited file (a sealed memfd, or an
// unlinked temporary file) holding exactly size * slots bytes of Python's pool, unstamped; any
// other size is refused. The pool is mapped MAP_PRIVATE, so the stamps written here never reach
// the file, and every page is copied and every slot stamped before "ready", so that no page
// fault is timed. Message `seq` is slot `seq % slots` with `seq` stamped little-endian into its
// first min(size, 8) bytes, as in Python, whose receiver checks every byte against its own
// pool. The sizing rule and the generator live in Python alone.
//
// Protocol with the Python process that started it (stdin/stdout):
//   -> "ready\n" once the pool is mapped and stamped (the clock has not started)
//   <- "go\n"
//   -> "done ELAPSED_NS CPU_NS MESSAGES_CHECKED BYTES_CHECKED SAMPLES\n", then SAMPLES round trip
//      times in nanoseconds as little-endian uint64 (the pinger only).
// The sender's clock stops when the receiver's acknowledgement (a Connection message of 8 bytes,
// little-endian count, on --ack-fd) arrives. CPU is this process's user + system time over the
// timed phase. Errors go to stderr with exit status 1. The process dies with its parent.
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <limits>
#include <pipes/connection.hpp>
#include <pipes/fd.hpp>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace {

// The sender's copy of the Python harness's PayloadPool: the pool file, mapped privately.
class payload_pool {
 public:
  static constexpr std::size_t stamp_size = 8;

  // Maps `file`, which must hold exactly message_size * slots bytes, makes every page this
  // process's own copy and stamps every slot once. Closes `file` (the mapping keeps the bytes).
  // Throws std::runtime_error for a file of another size, std::invalid_argument for a pool too
  // large to address, std::system_error if the file cannot be read or mapped.
  payload_pool(pipes::fd file, std::size_t message_size, std::size_t slots)
      : size_(message_size), slots_(slots) {
    if (size_ > std::numeric_limits<std::size_t>::max() / slots_) {
      throw std::invalid_argument("--size x --slots does not fit in memory");
    }
    const std::size_t length = size_ * slots_;
    struct stat facts {};
    if (::fstat(file.get(), &facts) != 0) {
      throw std::system_error(errno, std::generic_category(), "fstat of --pool-fd");
    }
    if (facts.st_size < 0 || static_cast<std::uint64_t>(facts.st_size) != length) {
      throw std::runtime_error("the pool file (--pool-fd) holds " + std::to_string(facts.st_size) +
                               " bytes, not --size x --slots = " + std::to_string(length));
    }
    // MAP_PRIVATE: the stamps stay in this process. MAP_POPULATE on a private writable mapping
    // copies every page in one call (the kernel breaks copy-on-write up front).
    void* const mapped =
        ::mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_POPULATE, file.get(), 0);
    if (mapped == MAP_FAILED) {
      throw std::system_error(errno, std::generic_category(), "mapping the pool file");
    }
    bytes_ = std::span<std::byte>(static_cast<std::byte*>(mapped), length);
    // MAP_POPULATE is best effort: writing every page (its own byte back) makes sure each one is
    // this process's copy before the clock starts; then every slot gets a stamp.
    volatile std::byte* const touch = bytes_.data();
    const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    for (std::size_t offset = 0; offset < length; offset += page) touch[offset] = touch[offset];
    for (std::uint64_t seq = 0; seq < slots_; ++seq) message(seq);
  }
  ~payload_pool() { ::munmap(bytes_.data(), bytes_.size()); }
  payload_pool(const payload_pool&) = delete;
  payload_pool& operator=(const payload_pool&) = delete;

  // Stamps `seq` into its slot and returns the slot.
  std::span<const std::byte> message(std::uint64_t seq) {
    const std::span<std::byte> slot = bytes_.subspan((seq % slots_) * size_, size_);
    const std::size_t stamp = std::min(size_, stamp_size);
    for (std::size_t i = 0; i < stamp; ++i) slot[i] = static_cast<std::byte>(seq >> (8 * i));
    return slot;
  }

 private:
  std::size_t size_;
  std::size_t slots_;
  std::span<std::byte> bytes_;
};

struct arguments {
  std::string role;
  int write_fd = -1;
  int read_fd = -1;
  int ack_fd = -1;
  std::uint64_t size = 0;
  std::uint64_t slots = 0;
  std::uint64_t count = 0;
  int pool_fd = -1;
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
    } else if (flag == "--pool-fd") {
      a.pool_fd = static_cast<int>(parse_number(flag, value));
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
  if (a.size == 0) throw std::invalid_argument("--size must be given (at least 1)");
  if (a.slots == 0) throw std::invalid_argument("--slots must be given (at least 1)");
  if (a.pool_fd < 0) throw std::invalid_argument("--pool-fd must be given");
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
    payload_pool pool(pipes::fd(a.pool_fd), a.size, a.slots);
    const outcome out = a.role == "sender" ? run_sender(a, pool) : run_pinger(a, pool);
    report(out);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pipebench_python_peer: %s\n", e.what());
    return 1;
  }
}
