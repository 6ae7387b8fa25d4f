// naive_pipe: two kernel pipes at their default size (64 KiB here), framed as Python frames.
#include <fcntl.h>

#include "baselines/python_framed_stream.hpp"
#include "baselines/transports.hpp"

namespace baselines {
namespace {

class naive_pipe final : public Transport {
 public:
  naive_pipe() {
    const int bytes = ::fcntl(to_follower_.write_end.get(), F_GETPIPE_SZ);
    if (bytes > 0) capacity_ = static_cast<std::size_t>(bytes);
  }

  std::unique_ptr<Channel> open(Role role) override {
    if (role == Role::leader) {
      return make_python_framed_stream(std::move(to_leader_.read_end),
                                       std::move(to_follower_.write_end));
    }
    return make_python_framed_stream(std::move(to_follower_.read_end),
                                     std::move(to_leader_.write_end));
  }

  std::string describe() const override {
    const std::string size = capacity_ ? std::to_string(*capacity_ >> 10) + " KiB" : "unknown";
    return "pipe() at the kernel's default capacity (" + size +
           "), Python framing: one write of header + payload up to 16 KiB, two above; the "
           "receiver reads the header, then the payload";
  }
  std::optional<std::size_t> pipe_capacity() const override { return capacity_; }

 private:
  pipes::pipe_fds to_follower_ = pipes::open_pipe();
  pipes::pipe_fds to_leader_ = pipes::open_pipe();
  std::optional<std::size_t> capacity_;
};

}  // namespace

std::unique_ptr<Transport> make_naive_pipe(const TransportParams&) {
  return std::make_unique<naive_pipe>();
}

}  // namespace baselines
