#include "peer_lifeline.hpp"

#include <poll.h>

#include <cerrno>
#include <system_error>
#include <utility>

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
  auto [leader_watch, follower_keep] = pipes::open_pipe();
  auto [follower_watch, leader_keep] = pipes::open_pipe();
  leader_watch_ = std::move(leader_watch);
  follower_keep_ = std::move(follower_keep);
  follower_watch_ = std::move(follower_watch);
  leader_keep_ = std::move(leader_keep);
}

lifeline lifeline_pair::take(Role role) noexcept {
  if (role == Role::leader) return {std::move(leader_watch_), std::move(leader_keep_)};
  return {std::move(follower_watch_), std::move(follower_keep_)};
}

}  // namespace baselines
