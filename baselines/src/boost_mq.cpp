// boost_mq: two boost::interprocess::message_queue (one per direction), messages chunked to the
// slot size. The controller creates each queue under an unguessable name, owner-only, and removes
// the name at once: the children use the mapping they inherit across fork(), so no name outlives
// the creating call, whatever happens to the processes later.
#include "boost_mq.hpp"

#include <boost/date_time/posix_time/posix_time_types.hpp>
#include <boost/interprocess/ipc/message_queue.hpp>
#include <boost/interprocess/permissions.hpp>
#include <chrono>
#include <optional>
#include <string>

#include "baselines/transports.hpp"
#include "chunking.hpp"
#include "datagram_queue.hpp"
#include "peer_lifeline.hpp"
#include "unique_name.hpp"

namespace baselines {
namespace {

namespace bip = boost::interprocess;

std::unique_ptr<bip::message_queue> create_unnamed_queue(std::size_t slots, std::size_t slot_size) {
  const std::string name = unique_name("pipebench-bmq-");
  bip::permissions owner_only;
  owner_only.set_permissions(0600);
  std::unique_ptr<bip::message_queue> queue;
  try {
    queue = std::make_unique<bip::message_queue>(bip::create_only, name.c_str(), slots, slot_size,
                                                 owner_only);
  } catch (const bip::interprocess_exception& e) {
    // It may have been created before the failure; a name that already existed is not ours.
    if (e.get_error_code() != bip::already_exists_error) bip::message_queue::remove(name.c_str());
    throw;
  }
  report_created(named_resource::shm_segment, name);
  bip::message_queue::remove(name.c_str());
  return queue;
}

boost::posix_time::ptime deadline_after(std::chrono::milliseconds wait) {
  // Boost.Interprocess 1.74 reads a ptime as UTC.
  return boost::posix_time::microsec_clock::universal_time() +
         boost::posix_time::milliseconds(wait.count());
}

class boost_queue final : public datagram_queue {
 public:
  explicit boost_queue(std::unique_ptr<bip::message_queue> queue) : queue_(std::move(queue)) {}

  std::size_t max_datagram() const noexcept override { return queue_->get_max_msg_size(); }

  bool send(std::span<const std::byte> datagram, std::chrono::milliseconds wait) override {
    // try_send first: building a deadline costs a clock read and a calendar conversion.
    if (queue_->try_send(datagram.data(), datagram.size(), 0)) return true;
    return wait.count() > 0 &&
           queue_->timed_send(datagram.data(), datagram.size(), 0, deadline_after(wait));
  }

  std::optional<std::size_t> receive(std::span<std::byte> buffer,
                                     std::chrono::milliseconds wait) override {
    bip::message_queue::size_type got = 0;
    unsigned int priority = 0;
    if (queue_->try_receive(buffer.data(), buffer.size(), got, priority) ||
        (wait.count() > 0 && queue_->timed_receive(buffer.data(), buffer.size(), got, priority,
                                                   deadline_after(wait)))) {
      return got;
    }
    return std::nullopt;
  }

 private:
  std::unique_ptr<bip::message_queue> queue_;
};

class boost_mq final : public Transport {
 public:
  boost_mq()
      : to_follower_(make_boost_mq_queue(boost_mq_slots, boost_mq_slot_size)),
        to_leader_(make_boost_mq_queue(boost_mq_slots, boost_mq_slot_size)) {}

  std::unique_ptr<Channel> open(Role role) override {
    auto out = std::move(role == Role::leader ? to_follower_ : to_leader_);
    auto in = std::move(role == Role::leader ? to_leader_ : to_follower_);
    return make_chunked_channel(
        make_queue_pair_link(std::move(out), std::move(in), lifelines_.take(role)));
  }

  std::string describe() const override {
    return "boost::interprocess::message_queue (Boost " + std::to_string(BOOST_VERSION / 100000) +
           "." + std::to_string(BOOST_VERSION / 100 % 1000) + "), one per direction, " +
           std::to_string(boost_mq_slots) + " slots x " + std::to_string(boost_mq_slot_size >> 10) +
           " KiB; chunked: 8-B length + up to " +
           std::to_string(boost_mq_slot_size - chunk_header_size) +
           " B inline, else a header message and " + std::to_string(boost_mq_slot_size >> 10) +
           "-KiB chunks; try_send/try_receive, then timed waits on its process-shared condition "
           "variables, peer checked every " +
           std::to_string(queue_liveness_check.count()) +
           " ms (lifeline pipe); shm name removed at creation, mapping inherited across fork";
  }

 private:
  std::unique_ptr<datagram_queue> to_follower_, to_leader_;
  lifeline_pair lifelines_;
};

}  // namespace

std::unique_ptr<datagram_queue> make_boost_mq_queue(std::size_t slots, std::size_t slot_size) {
  return std::make_unique<boost_queue>(create_unnamed_queue(slots, slot_size));
}

std::unique_ptr<Transport> make_boost_mq(const TransportParams&) {
  return std::make_unique<boost_mq>();
}

}  // namespace baselines
