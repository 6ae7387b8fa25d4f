// One worker of the pool in worker_pool.cpp: finds its connection on the command line, then
// answers each job with the sum of its numbers until the parent hangs up.
#include <chrono>
#include <pipes/connection.hpp>
#include <pipes/typed.hpp>
#include <thread>

#include "pool_protocol.hpp"
#include "worker_arguments.hpp"

int main(int argc, char** argv) {
  return examples::serve_until_closed(argc, argv, "pool_worker", [](pipes::Connection& parent) {
    const auto job = pipes::recv<examples::job>(parent);
    std::this_thread::sleep_for(std::chrono::milliseconds(job.work_ms));
    long sum = 0;
    for (long n : job.numbers) sum += n;
    pipes::send(parent, examples::job_result{job.id, sum});
  });
}
