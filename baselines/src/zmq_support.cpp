#include "zmq_support.hpp"

#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <zmq.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <system_error>
#include <utility>

#include "baselines/channel.hpp"
#include "unique_name.hpp"

namespace baselines {

int zmq_high_water_mark(std::size_t message_size) {
  const std::size_t by_budget = zmq_queue_budget / std::max<std::size_t>(message_size, 1);
  return static_cast<int>(std::clamp<std::size_t>(by_budget, zmq_min_hwm, zmq_max_hwm));
}

std::string zmq_version_text() {
  int major = 0, minor = 0, patch = 0;
  ::zmq_version(&major, &minor, &patch);
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
}

int zmq_poll_retrying(zmq_pollitem_t* items, int count, long timeout_ms) {
  for (;;) {
    const int n = ::zmq_poll(items, count, timeout_ms);
    if (n >= 0) return n;
    if (::zmq_errno() != EINTR) throw zmq::error_t();
  }
}

ipc_directory::ipc_directory(const char* transport) : owner_(::getpid()) {
  // mkdtemp creates it 0700, atomically; the 128-bit prefix makes the name unguessable.
  const auto base = std::filesystem::temp_directory_path() / unique_name("pipebench-zmq-");
  std::string path = base.string() + "XXXXXX";
  if (::mkdtemp(path.data()) == nullptr) {
    throw std::system_error(errno, std::system_category(), "mkdtemp " + path);
  }
  dir_ = path;
  socket_path_ = dir_ + "/s";
  report_created(named_resource::directory, dir_);
  if (socket_path_.size() >= sizeof(sockaddr_un::sun_path)) {
    remove();
    throw unsupported(std::string(transport) + ": the socket path " + socket_path_ +
                      " is too long for AF_UNIX; set TMPDIR to a shorter directory");
  }
}

ipc_directory::ipc_directory(ipc_directory&& other) noexcept
    : owner_(other.owner_),
      dir_(std::exchange(other.dir_, {})),
      socket_path_(std::exchange(other.socket_path_, {})) {}

ipc_directory::~ipc_directory() {
  if (::getpid() == owner_) remove();
}

void ipc_directory::restrict_socket_file() const {
  if (::chmod(socket_path_.c_str(), 0600) != 0) {
    throw std::system_error(errno, std::system_category(), "chmod " + socket_path_);
  }
}

void ipc_directory::remove() noexcept {
  if (dir_.empty()) return;
  ::unlink(socket_path_.c_str());
  ::rmdir(dir_.c_str());
}

}  // namespace baselines
