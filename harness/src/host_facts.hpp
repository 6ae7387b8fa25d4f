// Facts about the machine that a reader needs to judge the numbers, recorded in the JSON context.
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace harness {

// {key, value} pairs: kernel, CPU model, cores, pipe-max-size, mqueue limits, THP mode,
// compiler, build type. A fact that cannot be read is recorded as "unknown", never omitted.
std::vector<std::pair<std::string, std::string>> host_facts();

// The largest CPU cache of CPU 0 in bytes, from sysfs (the last-level cache); 0 when unknown.
std::size_t last_level_cache_bytes();

}  // namespace harness
