#include "unique_name.hpp"

#include <sys/random.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <system_error>

namespace baselines {
namespace {

std::atomic<creation_observer> observer{nullptr};

}  // namespace

std::string unique_name(std::string_view prefix) {
  std::array<std::uint8_t, 16> random{};
  std::size_t got = 0;
  while (got < random.size()) {
    // A 16-byte request never returns short once the pool is initialised; EINTR is retried.
    const ssize_t n = ::getrandom(random.data() + got, random.size() - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::system_error(errno, std::system_category(), "getrandom");
    }
    got += static_cast<std::size_t>(n);
  }
  constexpr char digits[] = "0123456789abcdef";
  std::string name(prefix);
  for (const std::uint8_t byte : random) {
    name += digits[byte >> 4];
    name += digits[byte & 0xf];
  }
  return name;
}

void set_creation_observer(creation_observer o) noexcept { observer.store(o); }

void report_created(named_resource kind, const std::string& name) noexcept {
  if (const auto o = observer.load()) o(kind, name);
}

}  // namespace baselines
