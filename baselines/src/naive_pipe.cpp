// naive_pipe: two kernel pipes at their default size (64 KiB here), framed as Python frames.
#include "baselines/os_objects.hpp"
#include "baselines/python_framed_stream.hpp"
#include "baselines/transports.hpp"

namespace baselines {
namespace {

class naive_pipe final : public Transport {
 public:
  naive_pipe() {
    std::tie(to_follower_read_, to_follower_write_) = os_pipe();
    std::tie(to_leader_read_, to_leader_write_) = os_pipe();
  }

  std::unique_ptr<Channel> open(Role role) override {
    if (role == Role::leader) {
      return make_python_framed_stream(std::move(to_leader_read_), std::move(to_follower_write_));
    }
    return make_python_framed_stream(std::move(to_follower_read_), std::move(to_leader_write_));
  }

  std::string describe() const override {
    return "pipe() at the default capacity, Python framing (one write <= 16 KiB, two above)";
  }

 private:
  pipes::fd to_follower_read_, to_follower_write_;
  pipes::fd to_leader_read_, to_leader_write_;
};

}  // namespace

std::unique_ptr<Transport> make_naive_pipe(const TransportParams&) {
  return std::make_unique<naive_pipe>();
}

}  // namespace baselines
