// Records the largest heap allocation made through operator new since the last reset, so a test
// can show that a hostile header never sized an allocation. The test binary replaces the global
// operator new/delete (allocation_probe.cpp) to do it.
#pragma once

#include <cstddef>

namespace pipes_test::allocation_probe {

void reset() noexcept;
std::size_t largest() noexcept;

}  // namespace pipes_test::allocation_probe
