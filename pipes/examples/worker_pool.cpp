// A parent feeding N worker programs and collecting their results, as multiprocessing.Pool does:
// each worker gets a duplex connection (spawn_with_connection.hpp), the parent waits on all of
// them at once with poll(2) on their read descriptors, hands the next job to whichever worker
// answers, and survives a worker that dies in the middle of a job (the job is reported and run
// again elsewhere). Closing the connections ends the workers.
//
//   pipes_example_worker_pool [--workers N] [--jobs J] [--kill-one] [--worker PATH]
//
// --kill-one SIGKILLs one worker while it works on a slow job, to show the pool going on.
// Exit status 0 when every job's result was checked and every worker ended as expected.
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <optional>
#include <pipes/connection.hpp>
#include <pipes/typed.hpp>
#include <string>
#include <vector>

#include "pool_protocol.hpp"
#include "spawn_with_connection.hpp"

namespace {

struct settings {
  int workers = 4;
  long jobs = 40;
  bool kill_one = false;
  std::string worker_path;
};

struct worker {
  pid_t pid = -1;
  pipes::Connection connection;
  std::optional<examples::job> current;  // the job it is working on, if any
  bool alive = true;
};

// Job `id` adds up 1..(1000 + id): its answer is known here, so every result is checked.
examples::job make_job(long id) {
  examples::job j;
  j.id = id;
  for (long n = 1; n <= 1000 + id; ++n) j.numbers.push_back(n);
  return j;
}
long expected_sum(long id) { return (1000 + id) * (1001 + id) / 2; }

class pool {
 public:
  explicit pool(const settings& s) : settings_(s) {
    for (long id = 0; id < s.jobs; ++id) queue_.push_back(make_job(id));
    for (int i = 0; i < s.workers; ++i) {
      auto [mine, theirs] = pipes::make_duplex();
      const pid_t pid = examples::spawn_with_connection(s.worker_path, theirs);
      theirs.close();  // only the worker holds these now: its death reads as end of file here
      workers_.push_back({pid, std::move(mine), std::nullopt, true});
    }
  }

  // Runs every job; returns how many results were wrong.
  int run() {
    if (settings_.kill_one && !queue_.empty()) queue_.front().work_ms = 2000;  // the victim's
    for (auto& w : workers_) give_work(w);
    std::size_t victim = 0;  // worker 0 got the slow job
    bool killed = false;
    while (busy_workers() > 0) {
      for (std::size_t i : ready_workers()) take_result(i);
      if (settings_.kill_one && !killed && results_.size() >= 5) {
        std::printf("killing worker %zu (pid %d) in the middle of job %ld\n", victim,
                    workers_[victim].pid,
                    workers_[victim].current ? workers_[victim].current->id : -1);
        ::kill(workers_[victim].pid, SIGKILL);
        killed = true;
      }
    }
    return wrong_;
  }

  // Closes every connection (each worker sees peer_closed and exits 0) and reaps the workers;
  // returns how many ended otherwise than expected.
  int shut_down() {
    int unexpected = 0;
    for (std::size_t i = 0; i < workers_.size(); ++i) {
      auto& w = workers_[i];
      w.connection.close();
      int status = 0;
      ::waitpid(w.pid, &status, 0);
      const bool killed = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
      const bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
      if (w.alive ? !clean : !killed) {
        std::printf("worker %zu ended unexpectedly (status %d)\n", i, status);
        ++unexpected;
      }
    }
    return unexpected;
  }

  std::size_t results() const { return results_.size(); }

 private:
  std::size_t busy_workers() const {
    std::size_t n = 0;
    for (const auto& w : workers_) n += w.current.has_value();
    return n;
  }

  // The busy workers with a result (or a death) to read, waiting for one if none has. A
  // connection's read-ahead may already hold a whole reply that poll(2) on its descriptor would
  // not see, so Connection::poll (which counts it) is asked first.
  std::vector<std::size_t> ready_workers() {
    std::vector<std::size_t> ready;
    for (std::size_t i = 0; i < workers_.size(); ++i) {
      if (workers_[i].current && workers_[i].connection.poll()) ready.push_back(i);
    }
    if (!ready.empty()) return ready;
    std::vector<pollfd> fds;
    std::vector<std::size_t> owner;
    for (std::size_t i = 0; i < workers_.size(); ++i) {
      if (!workers_[i].current) continue;
      fds.push_back({workers_[i].connection.read_fd(), POLLIN, 0});
      owner.push_back(i);
    }
    if (::poll(fds.data(), fds.size(), -1) < 0) return ready;  // EINTR: look again
    for (std::size_t k = 0; k < fds.size(); ++k) {
      if (fds[k].revents != 0) ready.push_back(owner[k]);  // POLLHUP too: the worker died
    }
    return ready;
  }

  void give_work(worker& w) {
    if (!w.alive || w.current || queue_.empty()) return;
    w.current = queue_.front();
    queue_.pop_front();
    try {
      pipes::send(w.connection, *w.current);
    } catch (const std::system_error& e) {  // pipes::error included: the worker is gone
      lose(w, e.what());
    }
  }

  void take_result(std::size_t i) {
    auto& w = workers_[i];
    try {
      const auto r = pipes::recv<examples::job_result>(w.connection);
      if (r.id != w.current->id || r.sum != expected_sum(r.id)) {
        std::printf("job %ld: wrong result %ld from worker %zu\n", r.id, r.sum, i);
        ++wrong_;
      }
      results_[r.id] = r.sum;
      w.current.reset();
      give_work(w);
    } catch (const std::system_error& e) {
      lose(w, e.what());
    }
  }

  // A worker died: its job is reported and queued again, and idle workers take up the queue.
  void lose(worker& w, const char* why) {
    std::printf("a worker (pid %d) was lost during job %ld (%s): the job runs again elsewhere\n",
                w.pid, w.current->id, why);
    w.current->work_ms = 0;
    queue_.push_back(*w.current);
    w.current.reset();
    w.alive = false;
    for (auto& other : workers_) give_work(other);
  }

  settings settings_;
  std::deque<examples::job> queue_;
  std::vector<worker> workers_;
  std::map<long, long> results_;
  int wrong_ = 0;
};

settings parse(int argc, char** argv) {
  settings s;
  s.worker_path = examples::beside_this_program(argv[0], "pipes_example_pool_worker");
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--kill-one") {
      s.kill_one = true;
    } else if (arg == "--workers" && i + 1 < argc) {
      s.workers = std::atoi(argv[++i]);
    } else if (arg == "--jobs" && i + 1 < argc) {
      s.jobs = std::atol(argv[++i]);
    } else if (arg == "--worker" && i + 1 < argc) {
      s.worker_path = argv[++i];
    } else {
      std::fprintf(stderr, "usage: %s [--workers N] [--jobs J] [--kill-one] [--worker PATH]\n",
                   argv[0]);
      std::exit(2);
    }
  }
  if (s.workers < 1 || (s.kill_one && s.workers < 2) || s.jobs < 1) {
    std::fprintf(stderr, "need at least one worker (two with --kill-one) and one job\n");
    std::exit(2);
  }
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  const settings s = parse(argc, argv);
  try {
    pool workers(s);
    const int wrong = workers.run();
    const int unexpected = workers.shut_down();
    const bool ok = wrong == 0 && unexpected == 0 && workers.results() == std::size_t(s.jobs);
    std::printf("%zu of %ld jobs done by %d workers, %d wrong: %s\n", workers.results(), s.jobs,
                s.workers, wrong, ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "worker_pool: %s\n", e.what());
    return 1;
  }
}
