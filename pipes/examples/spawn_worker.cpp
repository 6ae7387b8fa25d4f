// Starts a separate program (worker) with posix_spawn and talks to it over a duplex connection
// whose descriptors it passes on the command line (spawn_with_connection.hpp says how).
#include <sys/wait.h>

#include <cereal/types/vector.hpp>
#include <cstdio>
#include <pipes/connection.hpp>
#include <pipes/typed.hpp>
#include <string>
#include <vector>

#include "spawn_with_connection.hpp"

int main(int argc, char** argv) {
  auto [mine, theirs] = pipes::make_duplex();
  // The worker next to this program, unless given as the first argument.
  const std::string path =
      argc > 1 ? argv[1] : examples::beside_this_program(argv[0], "pipes_example_worker");
  pid_t pid = 0;
  try {
    pid = examples::spawn_with_connection(path, theirs);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  theirs.close();  // the child has its own copies now
  int failures = 0;
  for (long n = 1; n <= 5; ++n) {
    std::vector<long> numbers;
    for (long i = 1; i <= n * 1000; ++i) numbers.push_back(i);
    pipes::send(mine, numbers);
    const long sum = pipes::recv<long>(mine);
    std::printf("sum(1..%ld) = %ld\n", n * 1000, sum);
    if (sum != n * 1000 * (n * 1000 + 1) / 2) ++failures;
  }
  mine.close();  // the worker sees peer_closed and exits
  int status = 0;
  ::waitpid(pid, &status, 0);
  const bool child_ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  std::printf("%s\n", failures == 0 && child_ok ? "ok" : "FAILED");
  return failures == 0 && child_ok ? 0 : 1;
}
