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
#include <cerrno>
#include <cstring>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

namespace harness {
namespace {

static_assert(std::is_trivially_copyable_v<role_report>);

constexpr std::byte go_signal{'g'};
constexpr std::byte ready_signal{'r'};
constexpr auto poll_tick = std::chrono::milliseconds(50);
constexpr auto failure_grace = std::chrono::milliseconds(200);

[[noreturn]] void throw_errno(const char* what) {
  throw std::system_error(errno, std::system_category(), what);
}

// One counter per member, each on its own cache line, in memory shared by the controller and
// every child.
struct alignas(64) progress_slot {
  std::atomic<std::uint64_t> done{0};
};

class shared_progress {
 public:
  explicit shared_progress(std::size_t members) : bytes_(members * sizeof(progress_slot)) {
    void* p = ::mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw_errno("mmap");
    slots_ = new (p) progress_slot[members];
  }
  ~shared_progress() { ::munmap(slots_, bytes_); }
  shared_progress(const shared_progress&) = delete;
  shared_progress& operator=(const shared_progress&) = delete;
  std::atomic<std::uint64_t>& operator[](std::size_t member) const noexcept {
    return slots_[member].done;
  }

 private:
  std::size_t bytes_;
  progress_slot* slots_;
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
[[noreturn]] void child_main(const group_member& m, const pipes::fd& control,
                             std::span<const pipes::fd> peer_links,
                             std::atomic<std::uint64_t>& progress, pid_t controller) {
  role_report report;
  try {
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) throw_errno("prctl");
    if (::getppid() != controller) ::_exit(1);  // the controller died before prctl took effect
    ::signal(SIGPIPE, SIG_IGN);  // a dead peer is an EPIPE error to report, not a silent death
    pin_to_cpu(m.cpu);
    role_context context(control, peer_links, progress);
    report = m.run(context);
    report.ok = true;
  } catch (const std::exception& e) {
    report.ok = false;
    report.set_error(m.name + ": " + e.what());
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

// The sockets of a group, as the controller holds them while it forks: a control socket per
// member, and a link between member 0 and each other member. A member's own ends are closed in
// the controller once it is forked, so that only their owner holds them.
struct group_sockets {
  std::vector<pipes::fd> member_control;  // each member's end of its control socket
  std::vector<pipes::fd> hub_links;       // member 0's end of its link to member j ([0] unused)
  std::vector<pipes::fd> member_links;    // member j's end of that link ([0] unused)

  explicit group_sockets(std::vector<child>& children) {
    for (std::size_t j = 0; j < children.size(); ++j) {
      auto [controller_end, member_end] = pipes::open_socketpair(SOCK_SEQPACKET);
      children[j].control = std::move(controller_end);
      member_control.push_back(std::move(member_end));
      auto [hub_end, linked_end] =
          j == 0 ? std::pair<pipes::fd, pipes::fd>() : pipes::open_socketpair(SOCK_STREAM);
      hub_links.push_back(std::move(hub_end));
      member_links.push_back(std::move(linked_end));
    }
  }

  // Member i's peer links: all of member 0's, or member i's one.
  std::span<const pipes::fd> links_of(std::size_t i) const noexcept {
    return i == 0 ? std::span(hub_links).subspan(1) : std::span(member_links).subspan(i, 1);
  }

  // In member i's child: closes every descriptor of the group that is not its own (the
  // controller's ends, and the other members' ends not yet closed), so that a death of their
  // owner reads as EOF at once.
  void close_all_but(std::size_t i, const std::vector<child>& children) const noexcept {
    auto close_unless = [](const pipes::fd& f, bool own) {
      if (f && !own) ::close(f.get());
    };
    for (std::size_t j = 0; j < children.size(); ++j) {
      close_unless(children[j].control, false);
      close_unless(member_control[j], j == i);
      close_unless(hub_links[j], i == 0);
      close_unless(member_links[j], j == i);
    }
  }

  // In the controller, once member i is forked: its ends are its own now.
  void forked(std::size_t i) noexcept {
    member_control[i] = pipes::fd();
    if (i == 0) {
      for (auto& link : hub_links) link = pipes::fd();
    } else {
      member_links[i] = pipes::fd();
    }
  }
};

// A failure is an effect when a member saw a peer go away: the cause is elsewhere.
bool is_effect(const std::string& failure) {
  return failure.find("peer closed") != std::string::npos ||
         failure.find("Broken pipe") != std::string::npos ||
         failure.find("Connection reset") != std::string::npos;
}

// Every failure heard, the causes first; "; " between them.
std::string causes_then_effects(std::vector<std::string> failures) {
  std::stable_partition(failures.begin(), failures.end(),
                        [](const std::string& f) { return !is_effect(f); });
  std::string all;
  for (const auto& f : failures) {
    if (f.empty()) continue;
    all += (all.empty() ? "" : "; ") + f;
  }
  return all;
}

// Reads what `c`'s control socket has: "ready", its report, or EOF (it died). Returns a
// failure description, or an empty string.
std::string hear(child& c) {
  role_report report;
  const ssize_t got = ::recv(c.control.get(), &report, sizeof report, 0);
  if (got == 1) {
    c.ready = true;
  } else if (got == static_cast<ssize_t>(sizeof report)) {
    c.reported = true;
    c.report = report;
    if (!report.ok) return report.error;
  } else if (got == 0 || (got < 0 && errno != EINTR)) {
    return c.death();
  }
  return {};
}

// The failures of the children other than `failed` that report one, or die, within `grace`.
// When one member fails, others usually fail too ("peer closed the connection"), and which the
// controller hears first is a race: this lets it hear them all and name the cause.
std::vector<std::string> failures_within(std::vector<child>& children, std::size_t failed,
                                         std::chrono::milliseconds grace) {
  std::vector<std::string> failures;
  const auto deadline = std::chrono::steady_clock::now() + grace;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    std::vector<pollfd> fds;
    for (std::size_t i = 0; i < children.size(); ++i) {
      const bool listening = i != failed && !children[i].reported && children[i].pid > 0;
      fds.push_back({listening ? children[i].control.get() : -1, POLLIN, 0});
    }
    const bool anyone_left =
        std::any_of(fds.begin(), fds.end(), [](const pollfd& f) { return f.fd >= 0; });
    if (left.count() <= 0 || !anyone_left) return failures;
    if (::poll(fds.data(), fds.size(), static_cast<int>(left.count())) <= 0) continue;
    for (std::size_t i = 0; i < children.size(); ++i) {
      if (fds[i].revents != 0) failures.push_back(hear(children[i]));
    }
  }
}

// Waits until every child has done what `done` asks, one has failed, or nothing moved for
// `stall_timeout`. Returns an error description, or an empty string.
template <typename Done>
std::string supervise(std::vector<child>& children, std::chrono::milliseconds stall_timeout,
                      Done done) {
  auto last_move = std::chrono::steady_clock::now();
  std::vector<std::uint64_t> last_progress(children.size());
  for (;;) {
    if (std::all_of(children.begin(), children.end(), done)) return {};
    std::vector<pollfd> fds;
    for (const child& c : children) fds.push_back({c.reported ? -1 : c.control.get(), POLLIN, 0});
    const int n = ::poll(fds.data(), fds.size(), static_cast<int>(poll_tick.count()));
    if (n < 0 && errno != EINTR) return std::string("poll: ") + std::strerror(errno);
    for (std::size_t i = 0; i < children.size(); ++i) {
      if (fds[i].revents == 0) continue;
      if (std::string failure = hear(children[i]); !failure.empty()) {
        auto failures = failures_within(children, i, failure_grace);
        failures.insert(failures.begin(), std::move(failure));
        return causes_then_effects(std::move(failures));
      }
    }
    const auto now = std::chrono::steady_clock::now();
    bool moved = false;
    for (std::size_t i = 0; i < children.size(); ++i) {
      const auto p = children[i].progress->load(std::memory_order_relaxed);
      moved |= p != last_progress[i];
      last_progress[i] = p;
    }
    if (moved || n > 0) last_move = now;
    if (now - last_move > stall_timeout) {
      std::string where;
      for (const child& c : children) where += (where.empty() ? "" : ", ") + c.where();
      return "stalled: no progress for " + std::to_string(stall_timeout.count()) + " ms (" + where +
             ")";
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

group_outcome run_group(std::span<const group_member> members,
                        std::chrono::milliseconds stall_timeout,
                        const std::function<void()>& release_shared,
                        const std::function<bool()>& before_go) {
  group_outcome outcome;
  shared_progress progress(members.size());
  std::vector<child> children(members.size());
  for (std::size_t i = 0; i < members.size(); ++i) {
    children[i].name = members[i].name;
    children[i].progress = &progress[i];
  }
  try {
    group_sockets sockets(children);
    const pid_t controller = ::getpid();
    for (std::size_t i = 0; i < members.size(); ++i) {
      const pid_t pid = ::fork();
      if (pid < 0) throw_errno("fork");
      if (pid == 0) {
        sockets.close_all_but(i, children);
        child_main(members[i], sockets.member_control[i], sockets.links_of(i), progress[i],
                   controller);
      }
      children[i].pid = pid;
      sockets.forked(i);
    }
  } catch (const std::exception& e) {
    outcome.error = std::string("starting the processes: ") + e.what();
  }
  if (outcome.ok()) {
    // Getting ready reports no progress, and may take many seconds: a sender touches a payload
    // pool of up to 1 GiB (copied on write after the fork where it stamps it), slow under a
    // sanitizer on a host whose large cache makes the pool that large. A member that never gets
    // ready is still caught, later.
    const auto ready_timeout = std::max<std::chrono::milliseconds>(stall_timeout, get_ready_limit);
    outcome.error =
        supervise(children, ready_timeout, [](const child& c) { return c.ready || c.reported; });
  }
  if (release_shared) release_shared();  // every side is open: drop the controller's copies
  if (outcome.ok() && before_go && !before_go()) outcome.error = "not started: the group stopped";
  if (outcome.ok()) {
    const host_activity_meter meter;
    for (child& c : children) {
      if (!c.reported) send_packet(c.control, &go_signal, 1);
    }
    outcome.error = supervise(children, stall_timeout, [](const child& c) { return c.reported; });
    outcome.host = meter.finish();
  }
  for (child& c : children) {
    if (!outcome.ok()) c.kill();
    c.reap();
    outcome.reports.push_back(c.report);
  }
  return outcome;
}

pair_outcome run_pair(std::unique_ptr<baselines::Transport> transport, const role& leader,
                      const role& follower, std::chrono::milliseconds stall_timeout,
                      const std::function<bool()>& before_go) {
  auto side = [&transport](baselines::Role which, const role& r) {
    return group_member{r.name,
                        [&transport, which, &r](role_context& context) {
                          auto channel = transport->open(which);
                          transport.reset();  // closes what this side does not use
                          return r.body(*channel, context);
                        },
                        r.cpu};
  };
  const group_member members[] = {side(baselines::Role::leader, leader),
                                  side(baselines::Role::follower, follower)};
  const group_outcome group = run_group(
      members, stall_timeout, [&transport] { transport.reset(); }, before_go);
  pair_outcome outcome;
  outcome.leader = group.reports[0];
  outcome.follower = group.reports[1];
  outcome.error = group.error;
  outcome.host = group.host;
  return outcome;
}

group_outcome run_fan(std::unique_ptr<baselines::FanTransport> transport, const hub_role& hub,
                      std::size_t workers, const std::function<role(std::size_t)>& worker,
                      std::chrono::milliseconds stall_timeout) {
  std::vector<group_member> members;
  members.push_back({hub.name,
                     [&transport, &hub](role_context& context) {
                       auto channel = transport->open_hub();
                       transport.reset();  // closes what the hub does not use
                       return hub.body(*channel, context);
                     },
                     hub.cpu});
  std::vector<role> roles;
  for (std::size_t i = 0; i < workers; ++i) roles.push_back(worker(i));
  for (std::size_t i = 0; i < workers; ++i) {
    members.push_back({roles[i].name,
                       [&transport, &r = roles[i], i](role_context& context) {
                         auto channel = transport->open_worker(i);
                         transport.reset();  // closes what this worker does not use
                         return r.body(*channel, context);
                       },
                       roles[i].cpu});
  }
  return run_group(members, stall_timeout, [&transport] { transport.reset(); });
}

}  // namespace harness
