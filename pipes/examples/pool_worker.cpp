// One worker of the pool in worker_pool.cpp: finds its connection on the command line, then
// answers each job with the sum of its numbers until the parent hangs up.
#include <chrono>
#include <cstdio>
#include <pipes/connection.hpp>
#include <pipes/typed.hpp>
#include <thread>

#include "pool_protocol.hpp"
#include "worker_arguments.hpp"

int main(int argc, char** argv) {
  auto arguments = examples::connection_from_arguments(argc, argv);
  if (!arguments) return 2;
  auto& parent = *arguments;
  try {
    for (;;) {
      const auto job = pipes::recv<examples::job>(parent);
      std::this_thread::sleep_for(std::chrono::milliseconds(job.work_ms));
      long sum = 0;
      for (long n : job.numbers) sum += n;
      pipes::send(parent, examples::job_result{job.id, sum});
    }
  } catch (const pipes::error& e) {
    if (e.code() == pipes::errc::peer_closed) return 0;  // the pool is shutting down
    std::fprintf(stderr, "pool_worker: %s\n", e.what());
    return 1;
  }
}
