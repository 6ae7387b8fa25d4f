// memfd_sealed: a zero-copy handoff whose safety comes from the kernel's seals alone, not from
// trusting the sender. loan(size) makes a memfd of `size` bytes and maps it writable; the caller
// builds the message there; commit_loan() unmaps it, seals it (write, shrink, grow, and the seals
// themselves) and passes the descriptor with SCM_RIGHTS, the message size beside it. The receiver
// refuses a descriptor that is not sealed so, or holds fewer bytes than announced, maps it
// read-only and returns a view into it: what it checks is what the sender built, and nobody can
// change it any more. No copy is made beyond building the message (send() adds the one copy into
// the loan).
//
// A write seal is permanent (there is no F_REMOVE_SEALS, and nobody could trust one if there
// were), so a memfd cannot be refilled: every message is a fresh memfd, and the kernel allocates
// and zeroes its pages each time. That page allocation is what this transport costs beside
// `memfd`, whose pool is reused under the flow control instead.
//
// Flow control: the receiver releases a message (unmaps it) on its next receive() or when it is
// destroyed, and only then sends a 1-byte acknowledgement; a sender with memfd_in_flight messages
// unacknowledged reads acknowledgements before it makes another memfd. So at most that many
// memfds exist per direction, counting the one the receiver is reading.
//
// A peer that has gone reads as end of file; sends use MSG_NOSIGNAL, so a dead reader is an
// error, never a SIGPIPE. Every descriptor is close-on-exec, those received included.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>

#include "baselines/transports.hpp"
#include "memfd.hpp"
#include "memfd_common.hpp"
#include "spin_wait.hpp"

namespace baselines {
namespace {

using namespace memfd_detail;

constexpr int seals_added = F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL;
// F_SEAL_WRITE: no writable mapping exists or can be made and write() fails; F_SEAL_SHRINK: the
// mapped pages stay (no SIGBUS mid-read). F_SEAL_FUTURE_WRITE alone would not do: it leaves
// writable mappings made before it.
constexpr int seals_required = F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW;

class sealed_memfd_channel final : public Channel {
 public:
  sealed_memfd_channel(pipes::fd sending, pipes::fd receiving)
      : sending_(std::move(sending)), receiving_(std::move(receiving)) {}

  std::optional<std::span<std::byte>> loan(std::size_t size) override {
    loan_map_.reset();  // a loan never committed is dropped
    loan_file_ = pipes::fd();
    for (; unacknowledged_ >= memfd_in_flight; --unacknowledged_) {
      await_acknowledgement(sending_);
    }
    pipes::fd file(::memfd_create("pipebench-memfd", MFD_CLOEXEC | MFD_ALLOW_SEALING));
    if (!file) throw_errno("memfd_create");
    while (::ftruncate(file.get(), static_cast<off_t>(size)) != 0) {
      if (errno != EINTR) throw_errno("ftruncate");
    }
    loan_map_ = mapping(file, size, PROT_READ | PROT_WRITE);
    loan_file_ = std::move(file);
    loan_size_ = size;
    return loan_map_.bytes();
  }

  void commit_loan() override {
    if (!loan_file_) throw std::logic_error("memfd: commit_loan() without a loan");
    const pipes::fd file = std::move(loan_file_);  // closed on return: the notice holds the file
    loan_map_.reset();  // F_SEAL_WRITE is refused (EBUSY) while a writable shared mapping exists
    if (::fcntl(file.get(), F_ADD_SEALS, seals_added) != 0) throw_errno("F_ADD_SEALS");
    const int raw = file.get();
    if (!send_notice(sending_, std::span(&raw, 1), loan_size_, 0)) throw_peer_closed();
    ++unacknowledged_;
  }

  void send(std::span<const std::byte> message) override {
    const std::span<std::byte> room = *loan(message.size());
    if (!message.empty()) std::memcpy(room.data(), message.data(), message.size());
    commit_loan();
  }

  std::span<const std::byte> receive(std::span<std::byte> /*scratch: read in place*/) override {
    release();
    const notice n = read_notice(receiving_);
    if (!n.file) throw std::runtime_error("memfd: notice without a descriptor");
    require_seals(n.file, seals_required, n.size);
    held_ = mapping(n.file, static_cast<std::size_t>(n.size), PROT_READ);
    holding_ = true;  // acknowledged when released, so the view stays valid until the next call
    return held_.bytes();
  }

 private:
  // Unmaps the message returned last and acknowledges it. A peer that has gone needs no
  // acknowledgement, and what it sent before it went is still to be read: that read reports it.
  void release() {
    if (!holding_) return;
    held_.reset();
    holding_ = false;
    send_acknowledgement(receiving_);
  }

  pipes::fd sending_, receiving_;
  // Sending: the memfd lent out and its writable mapping, and messages not yet acknowledged.
  pipes::fd loan_file_;
  mapping loan_map_;
  std::size_t loan_size_ = 0;
  std::size_t unacknowledged_ = 0;
  // Receiving: the message returned last, mapped read-only.
  mapping held_;
  bool holding_ = false;
};

}  // namespace

std::unique_ptr<Channel> open_sealed_memfd_channel(pipes::fd sending, pipes::fd receiving) {
  return std::make_unique<sealed_memfd_channel>(std::move(sending), std::move(receiving));
}

std::unique_ptr<Transport> make_memfd_sealed(const TransportParams&) {
  return make_memfd_transport(
      &open_sealed_memfd_channel, seals_added,
      "sealed memfds: a fresh memfd per message (memfd_create, ftruncate, mmap with "
      "MAP_POPULATE: the kernel allocates and zeroes its pages every time, since a write seal is "
      "permanent and a sealed memfd cannot be refilled), built in place, unmapped, sealed "
      "(write, shrink, grow, seal) and passed with SCM_RIGHTS and its size over an AF_UNIX "
      "SOCK_SEQPACKET pair per direction; the receiver checks the seals and the size, maps it "
      "read-only and reads it in place (zero copies beyond building); at most " +
          std::to_string(memfd_in_flight) +
          " messages unacknowledged per direction (a 1-B acknowledgement when the receiver "
          "releases one); each wait on the socket spins " +
          std::to_string(spin_time.count()) +
          " us before it blocks; peer death read as end of "
          "file");
}

}  // namespace baselines
