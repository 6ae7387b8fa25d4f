// Starts a separate program with posix_spawn and hands it one end of a connection: its two
// descriptors go on the program's command line as --read-fd N --write-fd M.
//
// pipes creates descriptors with O_CLOEXEC, so no other child (another thread may be spawning
// too) inherits them. Only this child gets them: a posix_spawn dup2 action onto the same number
// clears FD_CLOEXEC in the child alone (glibc >= 2.29; POSIX 2024).
#pragma once

#include <spawn.h>
#include <sys/types.h>

#include <pipes/connection.hpp>
#include <string>
#include <system_error>
#include <vector>

extern char** environ;

namespace examples {

// Spawns `path` with `theirs`'s descriptors; returns its pid. The caller closes `theirs` after
// (the child has its own copies), so that the child's death reads as end of file.
inline pid_t spawn_with_connection(const std::string& path, const pipes::Connection& theirs) {
  const std::string read_fd = std::to_string(theirs.read_fd());
  const std::string write_fd = std::to_string(theirs.write_fd());
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, theirs.read_fd(), theirs.read_fd());
  posix_spawn_file_actions_adddup2(&actions, theirs.write_fd(), theirs.write_fd());
  std::vector<char*> argv = {const_cast<char*>(path.c_str()),     const_cast<char*>("--read-fd"),
                             const_cast<char*>(read_fd.c_str()),  const_cast<char*>("--write-fd"),
                             const_cast<char*>(write_fd.c_str()), nullptr};
  pid_t pid = 0;
  const int spawned = ::posix_spawn(&pid, path.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) throw std::system_error(spawned, std::system_category(), "posix_spawn " + path);
  return pid;
}

// The program `name` next to this one (argv[0]'s directory).
inline std::string beside_this_program(const char* argv0, const std::string& name) {
  const std::string self = argv0;
  const auto slash = self.rfind('/');
  return (slash == std::string::npos ? std::string() : self.substr(0, slash + 1)) + name;
}

}  // namespace examples
