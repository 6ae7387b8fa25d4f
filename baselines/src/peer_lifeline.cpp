#include "peer_lifeline.hpp"

#include <poll.h>

#include <cerrno>
#include <system_error>
#include <tuple>

#include "baselines/os_objects.hpp"

namespace baselines {

bool lifeline::peer_gone(std::chrono::milliseconds timeout) const {
  pollfd p{watch_.get(), POLLIN, 0};
  for (;;) {
    const int n = ::poll(&p, 1, static_cast<int>(timeout.count()));
    if (n >= 0) return n > 0;  // nothing is ever written, so any event is the hang-up
    if (errno != EINTR) throw std::system_error(errno, std::system_category(), "poll lifeline");
  }
}

lifeline_pair::lifeline_pair() {
  std::tie(leader_watch_, follower_keep_) = os_pipe();
  std::tie(follower_watch_, leader_keep_) = os_pipe();
}

lifeline lifeline_pair::take(Role role) noexcept {
  if (role == Role::leader) return {std::move(leader_watch_), std::move(leader_keep_)};
  return {std::move(follower_watch_), std::move(follower_keep_)};
}

}  // namespace baselines
