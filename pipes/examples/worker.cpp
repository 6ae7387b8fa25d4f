// A worker program started by spawn_worker: it finds its connection's descriptors on the command
// line, then answers each request (a list of numbers) with their sum until the parent hangs up.
#include <cereal/types/vector.hpp>
#include <cstdio>
#include <pipes/connection.hpp>
#include <pipes/typed.hpp>
#include <vector>

#include "worker_arguments.hpp"

int main(int argc, char** argv) {
  return examples::serve_until_closed(argc, argv, "worker", [](pipes::Connection& parent) {
    const auto numbers = pipes::recv<std::vector<long>>(parent);
    long sum = 0;
    for (long n : numbers) sum += n;
    pipes::send(parent, sum);
  });
}
