#include "peer_process.hpp"

#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <initializer_list>
#include <system_error>
#include <type_traits>

namespace harness {
namespace {

static_assert(std::is_trivially_copyable_v<role_report>);

constexpr std::byte go_signal{'g'};
constexpr std::byte ready_signal{'r'};
constexpr auto poll_tick = std::chrono::milliseconds(50);
constexpr auto failure_grace = std::chrono::milliseconds(200);
constexpr auto get_ready_limit = std::chrono::seconds(60);  // see run_pair

[[noreturn]] void throw_errno(const char* what) {
  throw std::system_error(errno, std::system_category(), what);
}

// Two counters on separate cache lines in memory shared by the controller and both children.
struct alignas(64) progress_slot {
  std::atomic<std::uint64_t> done{0};
};
struct shared_progress {
  progress_slot leader;
  progress_slot follower;
};

class shared_progress_mapping {
 public:
  shared_progress_mapping() {
    void* p = ::mmap(nullptr, sizeof(shared_progress), PROT_READ | PROT_WRITE,
                     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw_errno("mmap");
    progress_ = new (p) shared_progress;
  }
  ~shared_progress_mapping() { ::munmap(progress_, sizeof(shared_progress)); }
  shared_progress_mapping(const shared_progress_mapping&) = delete;
  shared_progress_mapping& operator=(const shared_progress_mapping&) = delete;
  shared_progress& operator*() const noexcept { return *progress_; }

 private:
  shared_progress* progress_;
};

void pin_to_cpu(int cpu) {
  if (cpu < 0) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (::sched_setaffinity(0, sizeof set, &set) != 0) throw_errno("sched_setaffinity");
}

void send_packet(const pipes::fd& socket, const void* data, std::size_t size) {
  for (;;) {
    if (::send(socket.get(), data, size, MSG_NOSIGNAL) >= 0) return;
    if (errno != EINTR) throw_errno("send to controller");
  }
}

// The whole life of a child: never returns.
[[noreturn]] void child_main(baselines::Role side, const role& r, const pipes::fd& control,
                             const pipes::fd& peer_link, std::atomic<std::uint64_t>& progress,
                             std::unique_ptr<baselines::Transport> transport, pid_t controller) {
  role_report report;
  try {
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) throw_errno("prctl");
    if (::getppid() != controller) ::_exit(1);  // the controller died before prctl took effect
    ::signal(SIGPIPE, SIG_IGN);  // a dead peer is an EPIPE error to report, not a silent death
    pin_to_cpu(r.cpu);
    auto channel = transport->open(side);
    transport.reset();  // closes what this side does not use, so a dead peer is seen as one
    role_context context(control, peer_link, progress);
    report = r.body(*channel, context);
    report.ok = true;
  } catch (const std::exception& e) {
    report.ok = false;
    report.set_error(r.name + ": " + e.what());
  }
  try {
    send_packet(control, &report, sizeof report);
  } catch (...) {
  }
  ::_exit(0);  // no atexit handlers, no destructors of the parent's objects
}

std::string describe_exit(int status) {
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    return std::string("killed by signal ") + std::to_string(sig) + " (" + ::strsignal(sig) + ")";
  }
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  return "ended";
}

// The controller's view of one child.
struct child {
  std::string name;
  pid_t pid = -1;
  pipes::fd control;
  const std::atomic<std::uint64_t>* progress = nullptr;
  bool ready = false;
  bool reported = false;
  role_report report;

  void kill() const noexcept {
    if (pid > 0) ::kill(pid, SIGKILL);
  }
  // Reaps the child, waiting for it; returns how it ended.
  std::string reap() noexcept {
    if (pid <= 0) return "not started";
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    pid = -1;
    return describe_exit(status);
  }
  std::string where() const {
    return name + " at message " + std::to_string(progress->load(std::memory_order_relaxed));
  }
  // Reaps a child whose control socket read EOF; describes where and how it died.
  std::string death() {
    const std::string at = where();
    return at + ": the " + name + " process died (" + reap() + ")";
  }
};

// One child to fork: the side it opens, the role it plays, its ends of the sockets.
struct child_plan {
  baselines::Role side;
  const role& plays;
  pipes::fd control;    // its end of its control socket with the controller
  pipes::fd peer_link;  // its end of the socket between leader and follower
  std::atomic<std::uint64_t>& progress;
};

// Forks the child of `plan`. The child closes `not_its_own` first (the controller's ends, and
// the other child's if it exists yet), so that a death of their owner reads as EOF at once.
pid_t fork_child(child_plan plan, std::unique_ptr<baselines::Transport>& transport,
                 std::initializer_list<const pipes::fd*> not_its_own) {
  const pid_t controller = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) throw_errno("fork");
  if (pid == 0) {
    for (const pipes::fd* other : not_its_own) ::close(other->get());
    child_main(plan.side, plan.plays, plan.control, plan.peer_link, plan.progress,
               std::move(transport), controller);
  }
  return pid;
}

// What went wrong with `c`, if within `grace` it reports a failure or its control socket reads
// EOF (it died); empty if it is still running or succeeded. When one side fails, the other
// usually fails too ("peer closed the connection"), and which of the two the controller hears
// first is a race: this lets it hear both and name the cause.
std::string failure_within(child& c, std::chrono::milliseconds grace) {
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (!c.reported) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return {};
    pollfd fd{c.control.get(), POLLIN, 0};
    if (::poll(&fd, 1, static_cast<int>(left.count())) <= 0) continue;
    role_report report;
    const ssize_t got = ::recv(c.control.get(), &report, sizeof report, 0);
    if (got == static_cast<ssize_t>(sizeof report)) {
      c.reported = true;
      c.report = report;
      return report.ok ? std::string() : std::string(report.error);
    }
    if (got == 0) return c.death();
  }
  return {};
}

// Both sides' failures, the cause first: a side that saw its peer close is reporting an effect.
std::string cause_then_effect(const std::string& first, const std::string& second) {
  if (second.empty()) return first;
  const bool first_is_effect = first.find("peer closed") != std::string::npos;
  const bool second_is_effect = second.find("peer closed") != std::string::npos;
  if (first_is_effect && !second_is_effect) return second + "; " + first;
  return first + "; " + second;
}

// Waits until every child has done what `done` asks, one has failed, or nothing moved for
// `stall_timeout`. Returns an error description, or an empty string.
template <typename Done>
std::string supervise(std::array<child*, 2> children, std::chrono::milliseconds stall_timeout,
                      Done done) {
  auto last_move = std::chrono::steady_clock::now();
  std::array<std::uint64_t, 2> last_progress{};
  for (;;) {
    if (std::all_of(children.begin(), children.end(), done)) return {};
    std::array<pollfd, 2> fds{};
    for (std::size_t i = 0; i < 2; ++i) {
      fds[i] = {children[i]->reported ? -1 : children[i]->control.get(), POLLIN, 0};
    }
    const int n = ::poll(fds.data(), fds.size(), static_cast<int>(poll_tick.count()));
    if (n < 0 && errno != EINTR) return std::string("poll: ") + std::strerror(errno);
    for (std::size_t i = 0; i < 2; ++i) {
      child& c = *children[i];
      if (fds[i].revents == 0) continue;
      role_report report;
      const ssize_t got = ::recv(c.control.get(), &report, sizeof report, 0);
      if (got == 1) {
        c.ready = true;
      } else if (got == static_cast<ssize_t>(sizeof report)) {
        c.reported = true;
        c.report = report;
        if (!report.ok) {
          return cause_then_effect(report.error, failure_within(*children[1 - i], failure_grace));
        }
      } else if (got == 0 || (got < 0 && errno != EINTR)) {
        return c.death();
      }
    }
    const auto now = std::chrono::steady_clock::now();
    bool moved = false;
    for (std::size_t i = 0; i < 2; ++i) {
      const auto p = children[i]->progress->load(std::memory_order_relaxed);
      moved |= p != last_progress[i];
      last_progress[i] = p;
    }
    if (moved || n > 0) last_move = now;
    if (now - last_move > stall_timeout) {
      return "stalled: no progress for " + std::to_string(stall_timeout.count()) + " ms (" +
             children[0]->where() + ", " + children[1]->where() + ")";
    }
  }
}

}  // namespace

void role_report::set_error(std::string_view what) noexcept {
  const std::size_t n = std::min(what.size(), sizeof error - 1);
  std::memcpy(error, what.data(), n);
  error[n] = '\0';
}

void role_context::ready() {
  send_packet(control_, &ready_signal, 1);
  std::byte go{};
  for (;;) {
    const ssize_t got = ::recv(control_.get(), &go, 1, 0);
    if (got == 1 && go == go_signal) return;
    if (got == 0) throw std::runtime_error("the controller went away before the start");
    if (got < 0 && errno != EINTR) throw_errno("recv from controller");
  }
}

double process_cpu_seconds() noexcept {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

pair_outcome run_pair(std::unique_ptr<baselines::Transport> transport, const role& leader,
                      const role& follower, std::chrono::milliseconds stall_timeout,
                      const std::function<bool()>& before_go) {
  shared_progress_mapping progress;
  auto [leader_control, leader_control_child] = pipes::open_socketpair(SOCK_SEQPACKET);
  auto [follower_control, follower_control_child] = pipes::open_socketpair(SOCK_SEQPACKET);
  auto [leader_link, follower_link] = pipes::open_socketpair(SOCK_STREAM);

  child lead;
  lead.name = leader.name;
  lead.control = std::move(leader_control);
  lead.progress = &(*progress).leader.done;
  child follow;
  follow.name = follower.name;
  follow.control = std::move(follower_control);
  follow.progress = &(*progress).follower.done;
  pair_outcome outcome;
  try {
    lead.pid = fork_child(
        {baselines::Role::leader, leader, std::move(leader_control_child), std::move(leader_link),
         (*progress).leader.done},
        transport, {&lead.control, &follow.control, &follower_control_child, &follower_link});
    follow.pid = fork_child({baselines::Role::follower, follower, std::move(follower_control_child),
                             std::move(follower_link), (*progress).follower.done},
                            transport, {&lead.control, &follow.control});
  } catch (const std::exception& e) {
    outcome.error = std::string("starting the processes: ") + e.what();
  }
  std::array<child*, 2> children{&lead, &follow};
  if (outcome.ok()) {
    // Getting ready reports no progress, and may take many seconds: a sender touches a payload
    // pool of up to 1 GiB (copied on write after the fork where it stamps it), slow under a
    // sanitizer on a host whose large cache makes the pool that large. A side that never gets
    // ready is still caught, later.
    const auto ready_timeout = std::max<std::chrono::milliseconds>(stall_timeout, get_ready_limit);
    outcome.error =
        supervise(children, ready_timeout, [](const child* c) { return c->ready || c->reported; });
  }
  transport.reset();  // both sides are open: drop the controller's copies and names
  if (outcome.ok() && before_go && !before_go()) outcome.error = "not started: the group stopped";
  if (outcome.ok()) {
    const host_activity_meter meter;
    for (child* c : children) {
      if (!c->reported) send_packet(c->control, &go_signal, 1);
    }
    outcome.error = supervise(children, stall_timeout, [](const child* c) { return c->reported; });
    outcome.host = meter.finish();
  }
  for (child* c : children) {
    if (!outcome.ok()) c->kill();
    c->reap();
  }
  outcome.leader = lead.report;
  outcome.follower = follow.report;
  return outcome;
}

}  // namespace harness
