// Starts a separate program (worker) with posix_spawn and talks to it over a duplex connection
// whose descriptors it passes on the command line.
//
// pipes creates descriptors with O_CLOEXEC, so no other child (another thread may be spawning
// too) inherits them. Only this child gets them: a posix_spawn dup2 action onto the same
// number clears FD_CLOEXEC in the child alone (glibc >= 2.29; POSIX 2024).
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cereal/types/vector.hpp>
#include <cstdio>
#include <cstring>
#include <pipes/connection.hpp>
#include <pipes/typed.hpp>
#include <string>
#include <vector>

extern char** environ;

namespace {

// The worker next to this program, unless given as the first argument.
std::string worker_path(int argc, char** argv) {
  if (argc > 1) return argv[1];
  std::string self = argv[0];
  const auto slash = self.rfind('/');
  return (slash == std::string::npos ? std::string() : self.substr(0, slash + 1)) +
         "pipes_example_worker";
}

}  // namespace

int main(int argc, char** argv) {
  auto [mine, theirs] = pipes::make_duplex();
  const std::string path = worker_path(argc, argv);
  const std::string read_fd = std::to_string(theirs.read_fd());
  const std::string write_fd = std::to_string(theirs.write_fd());

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, theirs.read_fd(), theirs.read_fd());
  posix_spawn_file_actions_adddup2(&actions, theirs.write_fd(), theirs.write_fd());
  std::vector<char*> child_argv = {
      const_cast<char*>(path.c_str()),     const_cast<char*>("--read-fd"),
      const_cast<char*>(read_fd.c_str()),  const_cast<char*>("--write-fd"),
      const_cast<char*>(write_fd.c_str()), nullptr};
  pid_t pid = 0;
  const int spawned =
      posix_spawn(&pid, path.c_str(), &actions, nullptr, child_argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) {
    std::fprintf(stderr, "posix_spawn %s: %s\n", path.c_str(), std::strerror(spawned));
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
