// Linked into every test program: after each test, the process must hold exactly the file
// descriptors it held before it, or the test fails naming the ones it left open. A leak in a
// failure path (a killed peer, a refused header, an exception mid-send) shows up here even when
// the test itself only looks at what arrived.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <sstream>
#include <string>

namespace {

// Descriptor number -> what it refers to (the /proc/self/fd link target), leaving out the
// descriptor the listing itself has open.
std::map<int, std::string> open_descriptors() {
  const std::string listing = "/proc/" + std::to_string(::getpid()) + "/fd";
  std::map<int, std::string> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
    std::error_code link_ec;
    std::string target = std::filesystem::read_symlink(entry.path(), link_ec).string();
    if (target != listing) out[std::stoi(entry.path().filename().string())] = std::move(target);
  }
  return out;
}

class fd_leak_check : public ::testing::EmptyTestEventListener {
  void OnTestStart(const ::testing::TestInfo&) override { before_ = open_descriptors(); }

  void OnTestEnd(const ::testing::TestInfo&) override {
    const auto after = open_descriptors();
    std::ostringstream leaked;
    for (const auto& [fd, target] : after) {
      const auto was = before_.find(fd);
      if (was == before_.end() || was->second != target) leaked << ' ' << fd << " -> " << target;
    }
    if (!leaked.str().empty())
      ADD_FAILURE() << "file descriptors left open by this test:" << leaked.str();
  }

  std::map<int, std::string> before_;
};

// Registered before main() runs (gtest_main appends nothing that this would precede).
const bool registered = [] {
  ::testing::UnitTest::GetInstance()->listeners().Append(new fd_leak_check);
  return true;
}();

}  // namespace
