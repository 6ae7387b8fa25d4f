// socketpair: one AF_UNIX stream pair at default buffer sizes, framed as Python frames.
#include <sys/socket.h>

#include <tuple>

#include "baselines/python_framed_stream.hpp"
#include "baselines/transports.hpp"

namespace baselines {
namespace {

class unix_socketpair final : public Transport {
 public:
  unix_socketpair() { std::tie(leader_end_, follower_end_) = pipes::open_socketpair(SOCK_STREAM); }

  std::unique_ptr<Channel> open(Role role) override {
    pipes::fd& end = role == Role::leader ? leader_end_ : follower_end_;
    pipes::fd copy = pipes::duplicate(end);
    return make_python_framed_stream(std::move(end), std::move(copy));
  }

  std::string describe() const override {
    return "socketpair(AF_UNIX, SOCK_STREAM) at default buffer sizes, Python framing";
  }

 private:
  pipes::fd leader_end_, follower_end_;
};

}  // namespace

std::unique_ptr<Transport> make_socketpair(const TransportParams&) {
  return std::make_unique<unix_socketpair>();
}

}  // namespace baselines
