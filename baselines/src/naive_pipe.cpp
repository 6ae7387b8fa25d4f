// naive_pipe: two kernel pipes at their default size (64 KiB here), framed as Python frames.
#include <fcntl.h>

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
    const int bytes = ::fcntl(to_follower_write_.get(), F_GETPIPE_SZ);
    if (bytes > 0) capacity_ = static_cast<std::size_t>(bytes);
  }

  std::unique_ptr<Channel> open(Role role) override {
    if (role == Role::leader) {
      return make_python_framed_stream(std::move(to_leader_read_), std::move(to_follower_write_));
    }
    return make_python_framed_stream(std::move(to_follower_read_), std::move(to_leader_write_));
  }

  std::string describe() const override {
    const std::string size = capacity_ ? std::to_string(*capacity_ >> 10) + " KiB" : "unknown";
    return "pipe() at the kernel's default capacity (" + size +
           "), Python framing: one write of header + payload up to 16 KiB, two above; the "
           "receiver reads the header, then the payload";
  }
  std::optional<std::size_t> pipe_capacity() const override { return capacity_; }

 private:
  pipes::fd to_follower_read_, to_follower_write_;
  pipes::fd to_leader_read_, to_leader_write_;
  std::optional<std::size_t> capacity_;
};

}  // namespace

std::unique_ptr<Transport> make_naive_pipe(const TransportParams&) {
  return std::make_unique<naive_pipe>();
}

}  // namespace baselines
