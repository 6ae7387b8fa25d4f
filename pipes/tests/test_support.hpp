// Helpers shared by the pipes tests: deterministic payloads, forked children, temp
// files, and syscall fakes for the seam.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pipes/fd.hpp"

namespace pipes_test {

// A byte sequence that depends on (seed, size) only, so a receiver can regenerate it.
void fill_pattern(std::span<std::byte> out, std::uint64_t seed);
std::vector<std::byte> pattern(std::size_t size, std::uint64_t seed);

std::span<const std::byte> bytes_of(std::string_view text);
std::string text_of(std::span<const std::byte> bytes);

// Runs `body` in a forked child that exits with its return value (1 on an exception, killed by
// SIGALRM after `alarm_seconds`). Returns the wait status.
int run_in_child(const std::function<int()>& body, unsigned alarm_seconds = 30);
// Forks without waiting; the child exits with body()'s value.
pid_t fork_child(const std::function<int()>& body, unsigned alarm_seconds = 30);
// Waits for `pid`; returns the wait status.
int wait_child(pid_t pid);
bool exited_with(int status, int code);

// An unlinked temporary file, open for reading and writing.
pipes::fd temp_file();

// A 64-bit generator (splitmix64) for sizes and schedules.
class rng {
 public:
  explicit rng(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next();
  // Uniform in [lo, hi].
  std::size_t between(std::size_t lo, std::size_t hi) { return lo + next() % (hi - lo + 1); }
  // Log-uniform in [1, hi]: as many small sizes as large ones.
  std::size_t log_size(std::size_t hi);

 private:
  std::uint64_t state_;
};

}  // namespace pipes_test
