#include "pair_group.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>
#include <type_traits>

namespace harness {
namespace {

constexpr std::byte ready_signal{'r'};
constexpr std::byte go_signal{'g'};

// What a sub-controller sends back at the end: its pair's outcome, trivially copyable.
struct pair_summary {
  role_report leader;
  role_report follower;
  host_activity host;
  char error[1024] = {};
};
static_assert(std::is_trivially_copyable_v<pair_summary>);

[[noreturn]] void throw_errno(const char* what) {
  throw std::system_error(errno, std::system_category(), what);
}

bool send_all_or_fail(const pipes::fd& socket, const void* data, std::size_t size) {
  for (;;) {
    if (::send(socket.get(), data, size, MSG_NOSIGNAL) >= 0) return true;
    if (errno != EINTR) return false;
  }
}

// One packet from `socket`: its length, 0 at end of file (the other side has gone), -1 on error.
ssize_t receive(const pipes::fd& socket, void* data, std::size_t size) {
  for (;;) {
    const ssize_t got = ::recv(socket.get(), data, size, 0);
    if (got >= 0 || errno != EINTR) return got;
  }
}

// The life of a sub-controller: never returns.
[[noreturn]] void sub_controller_main(
    const pipes::fd& caller, pid_t caller_pid,
    const std::function<std::unique_ptr<baselines::Transport>()>& make_transport,
    const role& leader, const role& follower, std::chrono::milliseconds stall_timeout) {
  pair_summary summary;
  try {
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) throw_errno("prctl");
    if (::getppid() != caller_pid) ::_exit(1);  // the caller died before prctl took effect
    // Ready, then the caller's go: false (no go, or the caller gone) ends the pair unstarted.
    auto wait_for_go = [&] {
      std::byte go{};
      return send_all_or_fail(caller, &ready_signal, 1) && receive(caller, &go, 1) == 1 &&
             go == go_signal;
    };
    const pair_outcome outcome =
        run_pair(make_transport(), leader, follower, stall_timeout, wait_for_go);
    summary.leader = outcome.leader;
    summary.follower = outcome.follower;
    summary.host = outcome.host;
    std::strncpy(summary.error, outcome.error.c_str(), sizeof summary.error - 1);
  } catch (const std::exception& e) {
    std::strncpy(summary.error, e.what(), sizeof summary.error - 1);
  }
  send_all_or_fail(caller, &summary, sizeof summary);
  ::_exit(0);  // no atexit handlers, no destructors of the caller's objects
}

// The caller's view of one sub-controller.
struct member {
  pid_t pid = -1;
  pipes::fd socket;
  bool ready = false;
  bool reported = false;
  pair_summary summary;
};

// Waits until every member is `done`, or one fails or dies; returns the first failure.
template <typename Done>
std::string collect(std::vector<member>& members, Done done) {
  for (;;) {
    if (std::all_of(members.begin(), members.end(), done)) return {};
    std::vector<pollfd> fds;
    for (const member& m : members) fds.push_back({m.reported ? -1 : m.socket.get(), POLLIN, 0});
    // No timeout here: each pair's own supervisor ends a stalled pair, and says so.
    if (::poll(fds.data(), fds.size(), -1) < 0 && errno != EINTR) {
      return std::string("poll: ") + std::strerror(errno);
    }
    for (std::size_t i = 0; i < members.size(); ++i) {
      if (fds[i].revents == 0) continue;
      member& m = members[i];
      const ssize_t got = receive(m.socket, &m.summary, sizeof m.summary);
      const std::string pair =
          "pair " + std::to_string(i + 1) + " of " + std::to_string(members.size()) + ": ";
      if (got == 1) {
        m.ready = true;
      } else if (got == static_cast<ssize_t>(sizeof m.summary)) {
        m.reported = true;
        if (m.summary.error[0] != '\0') return pair + m.summary.error;
      } else {
        return pair + "its controller process died";
      }
    }
  }
}

}  // namespace

pair_group_outcome run_pair_group(
    std::size_t count, const std::function<std::unique_ptr<baselines::Transport>()>& make_transport,
    const role& leader, const role& follower, std::chrono::milliseconds stall_timeout) {
  pair_group_outcome outcome;
  std::vector<member> members(count);
  std::vector<pipes::fd> their_ends;
  for (member& m : members) {
    auto [ours, theirs] = pipes::open_socketpair(SOCK_SEQPACKET);
    m.socket = std::move(ours);
    their_ends.push_back(std::move(theirs));
  }
  const pid_t caller = ::getpid();
  try {
    for (std::size_t i = 0; i < count; ++i) {
      members[i].pid = ::fork();
      if (members[i].pid < 0) throw_errno("fork");
      if (members[i].pid == 0) {
        // Only its own end: a member that dies must read as end of file to the caller alone.
        for (std::size_t j = 0; j < count; ++j) {
          ::close(members[j].socket.get());
          if (j != i) ::close(their_ends[j].get());
        }
        sub_controller_main(their_ends[i], caller, make_transport, leader, follower, stall_timeout);
      }
      their_ends[i].close();
    }
  } catch (const std::exception& e) {
    outcome.error = std::string("starting the pairs: ") + e.what();
  }
  if (outcome.ok()) {
    outcome.error = collect(members, [](const member& m) { return m.ready || m.reported; });
  }
  if (outcome.ok()) {
    const host_activity_meter meter;
    for (member& m : members) send_all_or_fail(m.socket, &go_signal, 1);
    outcome.error = collect(members, [](const member& m) { return m.reported; });
    outcome.host = meter.finish();
  }
  for (member& m : members) {
    if (m.pid <= 0) continue;
    if (!outcome.ok()) ::kill(m.pid, SIGKILL);  // its pair's processes die with it
    int status = 0;
    while (::waitpid(m.pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
  if (outcome.ok()) {
    for (const member& m : members) {
      pair_outcome pair;
      pair.leader = m.summary.leader;
      pair.follower = m.summary.follower;
      pair.host = m.summary.host;
      outcome.pairs.push_back(pair);
    }
  }
  return outcome;
}

}  // namespace harness
