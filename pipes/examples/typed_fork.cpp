// A parent and a forked child exchange typed messages over a duplex connection: the parent sends
// orders, the child prices them and sends back quotes, then the parent says goodbye.
#include <sys/wait.h>
#include <unistd.h>

#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>
#include <cstdio>
#include <cstdlib>
#include <pipes/connection.hpp>
#include <pipes/typed.hpp>
#include <string>
#include <vector>

struct order {
  std::string item;
  std::vector<int> quantities;
  template <class Archive>
  void serialize(Archive& archive) {
    archive(item, quantities);
  }
};

struct quote {
  std::string item;
  long total_cents = 0;
  template <class Archive>
  void serialize(Archive& archive) {
    archive(item, total_cents);
  }
};

namespace {

int run_child(pipes::Connection& parent) {
  for (;;) {
    const auto request = pipes::recv<order>(parent);
    if (request.item.empty()) return 0;  // goodbye
    long units = 0;
    for (int q : request.quantities) units += q;
    pipes::send(parent, quote{request.item, units * 250});
  }
}

}  // namespace

int main() {
  auto [parent_end, child_end] = pipes::make_duplex();
  const pid_t pid = ::fork();
  if (pid < 0) {
    std::perror("fork");
    return 1;
  }
  if (pid == 0) {
    parent_end.close();
    try {
      std::_Exit(run_child(child_end));
    } catch (const std::exception& e) {
      std::fprintf(stderr, "child: %s\n", e.what());
      std::_Exit(1);
    }
  }
  child_end.close();

  const std::vector<order> orders = {{"apples", {1, 2, 3}}, {"pears", {10}}, {"figs", {}}};
  int failures = 0;
  for (const order& o : orders) {
    pipes::send(parent_end, o);
    const auto reply = pipes::recv<quote>(parent_end);
    long units = 0;
    for (int q : o.quantities) units += q;
    std::printf("%-8s -> %ld cents\n", reply.item.c_str(), reply.total_cents);
    if (reply.item != o.item || reply.total_cents != units * 250) ++failures;
  }
  pipes::send(parent_end, order{});
  int status = 0;
  ::waitpid(pid, &status, 0);
  const bool child_ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  std::printf("%s\n", failures == 0 && child_ok ? "ok" : "FAILED");
  return failures == 0 && child_ok ? 0 : 1;
}
