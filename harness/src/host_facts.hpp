// Facts about the machine that a reader needs to judge the numbers, recorded in the JSON context.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace harness {

// {key, value} pairs: kernel, CPU model, cores, pipe-max-size, mqueue limits, THP mode,
// compiler, build type. A fact that cannot be read is recorded as "unknown", never omitted.
std::vector<std::pair<std::string, std::string>> host_facts();

}  // namespace harness
