// The messages of the worker-pool example (worker_pool.cpp, pool_worker.cpp): a job, some
// numbers to add up and how long to take over it, and its result. Typed with cereal, as
// pipes::send / pipes::recv<T> carry them.
#pragma once

#include <cereal/types/vector.hpp>
#include <vector>

namespace examples {

struct job {
  long id = 0;
  std::vector<long> numbers;
  int work_ms = 0;  // a slow job, so that a worker can be caught in the middle of one

  template <class Archive>
  void serialize(Archive& archive) {
    archive(id, numbers, work_ms);
  }
};

struct job_result {
  long id = 0;
  long sum = 0;

  template <class Archive>
  void serialize(Archive& archive) {
    archive(id, sum);
  }
};

}  // namespace examples
