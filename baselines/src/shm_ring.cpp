// shm_ring and shm_ring_inplace: a single-producer single-consumer byte ring per direction, in an
// anonymous MAP_SHARED mapping made by the controller before fork() (no name to leak). The design
// (record framing, copy-out or in-place receive, wake-ups, peer death) is explained in
// baselines/README.md.
#include "shm_ring.hpp"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>

#include "baselines/transports.hpp"
#include "peer_lifeline.hpp"
#include "size_text.hpp"
#include "spin_wait.hpp"
#include "spsc_ring.hpp"

namespace baselines {
namespace {

class shm_ring_channel final : public Channel {
 public:
  shm_ring_channel(ring_set rings, Role role, lifeline peer, shm_receive how)
      : rings_(std::move(rings)),
        peer_(std::move(peer)),
        // Ring 0 carries leader -> follower, ring 1 follower -> leader.
        writer_(rings_.ring(role == Role::leader ? 0 : 1), peer_),
        reader_(rings_.ring(role == Role::leader ? 1 : 0), peer_, how) {
    rings_.prefault();
  }

  void send(std::span<const std::byte> message) override { writer_.write(message); }

  std::span<const std::byte> receive(std::span<std::byte> scratch) override {
    return reader_.read(scratch);
  }

 private:
  ring_set rings_;
  lifeline peer_;
  ring_writer writer_;
  ring_reader reader_;
};

class shm_ring final : public Transport {
 public:
  shm_ring(std::size_t ring_bytes, shm_receive how)
      : ring_bytes_(ring_bytes), how_(how), rings_(2, ring_bytes) {}

  std::unique_ptr<Channel> open(Role role) override {
    return std::make_unique<shm_ring_channel>(std::move(rings_), role, lifelines_.take(role), how_);
  }

  std::string describe() const override {
    return "SPSC byte ring per direction, " + size_text(ring_bytes_) +
           " each, anonymous MAP_SHARED mapping made before fork (no name); 8-B length prefix, "
           "8-B aligned records; messages up to " +
           std::to_string(ring_bytes_ / 2 - ring_header_size) +
           " B stored contiguously (wrap marker) and " +
           (how_ == shm_receive::in_place
                ? "received in place (a view into the ring, released on the next receive)"
                : "copied out into the receiver's buffer") +
           ", larger ones streamed in pieces of up to " + size_text(ring_bytes_ / 8) +
           " and copied out; wait: spin " + std::to_string(spin_time.count()) +
           " us, then FUTEX_WAIT (shared) on a sleeping flag, FUTEX_WAKE only if it is set; "
           "peer checked every " +
           std::to_string(ring_liveness_check.count()) + " ms of sleep (lifeline pipe)";
  }

 private:
  std::size_t ring_bytes_;
  shm_receive how_;
  ring_set rings_;
  lifeline_pair lifelines_;
};

}  // namespace

std::unique_ptr<Transport> make_shm_ring(const TransportParams&, std::size_t ring_bytes,
                                         shm_receive how) {
  if (ring_bytes < page || !std::has_single_bit(ring_bytes)) {
    throw std::invalid_argument("shm_ring: the ring size must be a power of two of at least 4 KiB");
  }
  return std::make_unique<shm_ring>(ring_bytes, how);
}

std::unique_ptr<Transport> make_shm_ring(const TransportParams& params) {
  return make_shm_ring(params, shm_ring_default_bytes, shm_receive::copy_out);
}

std::unique_ptr<Transport> make_shm_ring_inplace(const TransportParams& params) {
  // Room for two whole records of the run's size, so that every message is read in place while
  // the next one is written (as py_shared_memory's two message-sized slots do), within a cap.
  const std::size_t two_records = 2 * ring_record_size(params.message_size);
  const std::size_t ring_bytes =
      std::clamp(std::bit_ceil(two_records), shm_ring_default_bytes, shm_ring_inplace_max_bytes);
  return make_shm_ring(params, ring_bytes, shm_receive::in_place);
}

}  // namespace baselines
