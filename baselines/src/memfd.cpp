// memfd: messages built in a pool of memfds, passed by descriptor once and then reused, read in
// place by the receiver: a zero-copy handoff (nothing is copied after the message is built) whose
// pages are allocated once per slot, not once per message.
//
// Each direction has memfd_in_flight slots, each a memfd the sender maps writable. A message goes
// in slot (sequence mod memfd_in_flight); the sender builds it there (loan) and commit_loan()
// sends a notice (size, slot) over an AF_UNIX SOCK_SEQPACKET pair, with the slot's memfd passed by
// SCM_RIGHTS the first time the slot is used, or after the pool grew for a larger message (the
// whole pool grows at once). The receiver maps each memfd it is given read-only, once, and
// returns a view into the slot. Every wait on a socket spins briefly first (spin_wait.hpp).
//
// What the seals guarantee, and what they do not. Before a memfd is passed the sender seals it
// against shrinking and growing (so the receiver's mapping can never SIGBUS: its pages stay),
// against future writes (nobody can map it writable again or write() to it: only the mapping the
// sender made before sealing can change it) and against further seals. The receiver refuses a
// memfd not sealed against shrinking and growing. The contents are not sealed: a reused memfd
// must stay writable by its sender. That the receiver reads what was built, unchanged, rests on
// the flow control, as in any shared memory: the receiver releases a slot (a 1-byte
// acknowledgement) on its next receive() or when destroyed, and the sender writes into a slot
// only once the message before in that slot has been acknowledged (acknowledgements come in
// order, so at most memfd_in_flight messages are unacknowledged). `memfd_sealed` is the variant
// whose contents are sealed too, and what that costs.
//
// A peer that has gone reads as end of file; sends use MSG_NOSIGNAL, so a dead reader is an
// error, never a SIGPIPE. Every descriptor is close-on-exec, those received included.
#include "memfd.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>

#include "baselines/transports.hpp"
#include "memfd_common.hpp"
#include "spin_wait.hpp"

namespace baselines {
namespace {

using namespace memfd_detail;

constexpr int seals_added = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE | F_SEAL_SEAL;
constexpr int seals_required = F_SEAL_SHRINK | F_SEAL_GROW;

class pooled_memfd_channel final : public Channel {
 public:
  pooled_memfd_channel(pipes::fd sending, pipes::fd receiving)
      : sending_(std::move(sending)), receiving_(std::move(receiving)) {}

  std::optional<std::span<std::byte>> loan(std::size_t size) override {
    for (; unacknowledged_ >= memfd_in_flight; --unacknowledged_) {
      await_acknowledgement(sending_);
    }
    sending_slot& slot = sending_slots_[next_slot_];
    if (slot.map.bytes().size() < size || !slot.file) {
      // The whole pool grows at once, so that a stream of equal messages pays for its memfds on
      // its first message (a warm-up), not on each of the next few. A slot whose message the
      // receiver still reads may be replaced: it keeps the old memfd mapped until it is told.
      for (sending_slot& each : sending_slots_) {
        if (each.map.bytes().size() < size || !each.file) each = new_sending_slot(size);
      }
    }
    loan_size_ = size;
    lent_ = true;
    return slot.map.bytes().first(size);
  }

  void commit_loan() override {
    if (!lent_) throw std::logic_error("memfd: commit_loan() without a loan");
    lent_ = false;
    sending_slot& slot = sending_slots_[next_slot_];
    const int raw = slot.file.get();
    const std::span<const int> descriptors =
        slot.announced ? std::span<const int>() : std::span(&raw, 1);
    if (!send_notice(sending_, descriptors, loan_size_, static_cast<std::uint32_t>(next_slot_))) {
      throw_peer_closed();
    }
    slot.announced = true;
    ++unacknowledged_;
    next_slot_ = (next_slot_ + 1) % memfd_in_flight;
  }

  void send(std::span<const std::byte> message) override {
    const std::span<std::byte> room = *loan(message.size());
    if (!message.empty()) std::memcpy(room.data(), message.data(), message.size());
    commit_loan();
  }

  std::span<const std::byte> receive(std::span<std::byte> /*scratch: read in place*/) override {
    release();
    notice n = read_notice(receiving_);
    if (n.slot >= memfd_in_flight) {
      throw std::runtime_error("memfd: notice for slot " + std::to_string(n.slot) +
                               ", beyond the pool's " + std::to_string(memfd_in_flight));
    }
    receiving_slot& slot = receiving_slots_[n.slot];
    if (n.file) {
      const std::uint64_t held = require_seals(n.file, seals_required, n.size);
      // Not prefaulted: the mapping lives as long as the slot, so its pages fault in once, as
      // messages touch them, and never more than the file's sender gave it.
      slot.map = mapping(n.file, static_cast<std::size_t>(held), PROT_READ, false);
      slot.known = true;
    } else if (!slot.known) {
      throw std::runtime_error("memfd: notice for slot " + std::to_string(n.slot) +
                               ", which no memfd was passed for");
    } else if (slot.map.bytes().size() < n.size) {
      throw std::runtime_error("memfd: notice of " + std::to_string(n.size) +
                               " bytes for a slot of " + std::to_string(slot.map.bytes().size()));
    }
    holding_ = true;  // acknowledged when released, so the view stays valid until the next call
    return slot.map.bytes().first(static_cast<std::size_t>(n.size));
  }

 private:
  struct sending_slot {
    pipes::fd file;
    mapping map;             // writable, the whole file
    bool announced = false;  // the receiver has been passed `file`
  };
  struct receiving_slot {
    mapping map;  // read-only, the whole file
    bool known = false;
  };

  // A memfd of at least `size` bytes (whole pages, one at least, so it can be mapped), mapped
  // writable and then sealed: the mapping made before F_SEAL_FUTURE_WRITE stays writable.
  static sending_slot new_sending_slot(std::size_t size) {
    const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    const std::size_t capacity = std::max<std::size_t>(1, (size + page - 1) / page) * page;
    sending_slot slot;
    slot.file = pipes::fd(::memfd_create("pipebench-memfd", MFD_CLOEXEC | MFD_ALLOW_SEALING));
    if (!slot.file) throw_errno("memfd_create");
    while (::ftruncate(slot.file.get(), static_cast<off_t>(capacity)) != 0) {
      if (errno != EINTR) throw_errno("ftruncate");
    }
    slot.map = mapping(slot.file, capacity, PROT_READ | PROT_WRITE);
    if (::fcntl(slot.file.get(), F_ADD_SEALS, seals_added) != 0) throw_errno("F_ADD_SEALS");
    return slot;
  }

  // Acknowledges the message returned last. A peer that has gone needs no acknowledgement, and
  // what it sent before it went is still to be read: that read reports it.
  void release() {
    if (!holding_) return;
    holding_ = false;
    send_acknowledgement(receiving_);
  }

  pipes::fd sending_, receiving_;
  // Sending: the pool, the slot the next message goes in, and what is lent or unacknowledged.
  std::array<sending_slot, memfd_in_flight> sending_slots_;
  std::size_t next_slot_ = 0;
  std::size_t loan_size_ = 0;
  bool lent_ = false;
  std::size_t unacknowledged_ = 0;
  // Receiving: each slot's memfd as the sender last passed it, and whether a view is out.
  std::array<receiving_slot, memfd_in_flight> receiving_slots_;
  bool holding_ = false;
};

}  // namespace

std::unique_ptr<Channel> open_memfd_channel(pipes::fd sending, pipes::fd receiving) {
  return std::make_unique<pooled_memfd_channel>(std::move(sending), std::move(receiving));
}

std::unique_ptr<Transport> make_memfd(const TransportParams&) {
  return make_memfd_transport(
      &open_memfd_channel, seals_added,
      "memfds in a reused pool: " + std::to_string(memfd_in_flight) +
          " per direction (memfd_create, ftruncate to whole pages, mmap MAP_POPULATE), sealed "
          "against shrinking, growing and future writes, passed once with SCM_RIGHTS and "
          "mapped once read-only by the receiver; each message is built in slot (sequence mod " +
          std::to_string(memfd_in_flight) +
          ") and announced by its size and slot over an AF_UNIX SOCK_SEQPACKET pair per "
          "direction; the receiver checks the seals and reads it in place (zero copies beyond "
          "building); a slot is reused only after the receiver's 1-B acknowledgement; each wait "
          "on the socket spins " +
          std::to_string(spin_time.count()) +
          " us before it blocks; peer death read as end of file");
}

}  // namespace baselines
