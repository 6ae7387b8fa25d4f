#include "frame_writer.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <utility>

#include "pipe_capacity.hpp"
#include "pipes/error.hpp"
#include "pipes/frame.hpp"
#include "readiness.hpp"
#include "sigpipe_guard.hpp"
#include "syscalls.hpp"

namespace pipes::detail {
namespace {

// vmsplice pays off only when the pipe holds a good number of pages.
constexpr std::size_t min_zero_copy_capacity = 64 * 1024;
// The staging ring grows for big loans up to this size (or twice the pipe, if larger); larger
// loans are spliced from large_loans' mappings (or, where those cannot be had, come from the
// heap and are staged through the ring with a copy).
constexpr std::size_t max_ring_size = std::size_t{64} << 20;
// A staging chunk smaller than this is not worth a system call unless it ends the message.
constexpr std::size_t min_chunk = 4096;
// Heap loans and large loans up to this size keep their memory for the next loan: a fresh
// 64 MiB buffer costs 16 Ki page faults per message. Only the sender's own loan sizes decide it,
// never a header.
constexpr std::size_t heap_loan_keep = std::size_t{256} << 20;

std::error_code write_error() noexcept {
  return errno == EPIPE ? make_error_code(errc::peer_closed) : last_os_error();
}

// Packet mode (O_DIRECT) turns each write into a packet whose unread rest a short read throws
// away: incompatible with a byte stream of frames.
void clear_packet_mode(int fd) noexcept {
  const int flags = syscalls().fcntl(fd, F_GETFL, 0);
  if (flags >= 0 && (flags & O_DIRECT) != 0) syscalls().fcntl(fd, F_SETFL, flags & ~O_DIRECT);
}

// Copies up to `size` bytes of `message`, starting at (part, offset), to `out`; advances both.
void copy_parts(frame_writer::parts message, std::size_t& part, std::size_t& offset, std::byte* out,
                std::size_t size) noexcept {
  while (size > 0) {
    const std::span<const std::byte> from = message[part].subspan(offset);
    const std::size_t n = std::min(size, from.size());
    if (n > 0) std::memcpy(out, from.data(), n);
    out += n;
    size -= n;
    offset += n;
    if (offset == message[part].size()) {
      ++part;
      offset = 0;
    }
  }
}

// Whether send_from_fd may splice from `in_fd`: not from a pipe. Splicing pipe to pipe moves the
// source pipe's buffers into ours by reference, and those may be pages a zero-copy sender
// vmspliced from its staging ring (pipes' own, or anyone's): that sender counts them as gone once
// its pipe is drained (staging_ring.hpp, condition 2) and rewrites them while our pipe still
// holds them, so the relayed message would change after it was sent. A pipe source is copied
// through user space instead. Files (page cache) and sockets (kernel buffers) own their pages.
bool may_splice_from(int in_fd) noexcept {
  struct stat st {};
  return syscalls().fstat(in_fd, &st) == 0 && !S_ISFIFO(st.st_mode);
}

}  // namespace

frame_writer::frame_writer(fd out, const options& opts, bool guard_sigpipe)
    : out_(std::move(out)),
      max_message_size_(opts.max_message_size),
      zero_copy_threshold_(opts.zero_copy_threshold),
      gather_writes_(opts.gather_writes),
      guard_sigpipe_(guard_sigpipe),
      spin_(opts.spin) {
  clear_packet_mode(out_.get());
  capacity_ = grow_pipe(out_.get(), opts.pipe_capacity);
  zero_copy_ = opts.zero_copy && capacity_ >= min_zero_copy_capacity;
}

frame_writer::~frame_writer() = default;

// Whether a writing call may start: usable(), and a tail kept by a bounded send is written
// first (blocking, as the call itself would), so frames never interleave.
bool frame_writer::begin_send(std::size_t size, std::error_code& ec) noexcept {
  if (!usable(size, ec)) return false;
  if (tail_.empty()) return true;
  sigpipe_guard guard(guard_sigpipe_);
  write_bytes(tail_.data(), tail_.size(), ec);
  if (ec) {
    broken_ = ec;  // the kept frame is cut short on the wire
    if (ec == errc::peer_closed) guard.saw_epipe();
    return false;
  }
  tail_.clear();
  return true;
}

bool frame_writer::usable(std::size_t size, std::error_code& ec) const noexcept {
  ec.clear();
  if (!out_) {
    ec = std::make_error_code(std::errc::bad_file_descriptor);
  } else if (broken_) {
    ec = broken_;
  } else if (size > max_message_size_) {
    ec = make_error_code(errc::message_too_large);
  } else if (loan_.sent > 0) {
    // A loan's frame is partly in the pipe: nothing else may go in before its end (commit).
    ec = std::make_error_code(std::errc::operation_in_progress);
  }
  return !ec;
}

void frame_writer::finish(std::uint64_t stream_at_start, sigpipe_guard& guard,
                          std::error_code& ec) noexcept {
  if (!ec) return;
  if (ec == errc::peer_closed) guard.saw_epipe();
  // Part of a frame may be in the pipe: the peer can no longer find the next frame's start.
  if (stream_bytes_ != stream_at_start) broken_ = ec;
  gather_.clear();
}

void frame_writer::send_message(parts message, std::error_code& ec) noexcept {
  std::size_t total = 0;
  for (const auto& part : message) total += part.size();
  if (!begin_send(total, ec)) return;
  sigpipe_guard guard(guard_sigpipe_);
  const std::uint64_t start = stream_bytes_;
  if (zero_copy_for(total)) {
    send_staged(message, total, true, ec);
  } else if (gather_writes_) {
    append(message, total, ec);
    if (!ec) flush(ec);
  } else {
    send_python_style(message, total, ec);
  }
  finish(start, guard, ec);
}

void frame_writer::send_batch(parts messages, std::error_code& ec) noexcept {
  std::size_t largest = 0;
  for (const auto& message : messages) largest = std::max(largest, message.size());
  if (!begin_send(largest, ec)) return;  // all or nothing: refuse before anything is written
  sigpipe_guard guard(guard_sigpipe_);
  const std::uint64_t start = stream_bytes_;
  for (std::size_t i = 0; i < messages.size() && !ec; ++i) {
    const parts one = messages.subspan(i, 1);
    if (zero_copy_for(messages[i].size())) {
      flush(ec);  // keep the order
      if (!ec) send_staged(one, messages[i].size(), true, ec);
    } else if (gather_writes_) {
      append(one, messages[i].size(), ec);
    } else {
      send_python_style(one, messages[i].size(), ec);
    }
  }
  if (!ec) flush(ec);
  finish(start, guard, ec);
}

void frame_writer::append(parts message, std::size_t total, std::error_code& ec) noexcept {
  const frame_header header = encode_frame_header(total);
  if (!gather_.has_room(header.size())) flush(ec);
  if (ec) return;
  gather_.copy(header.view());
  append_rest(message, 0, 0, ec);
}

void frame_writer::append_rest(parts message, std::size_t part, std::size_t offset,
                               std::error_code& ec) noexcept {
  for (; part < message.size(); ++part, offset = 0) {
    const std::span<const std::byte> bytes = message[part].subspan(offset);
    const bool small = bytes.size() <= gather_buffer::copy_limit;
    if (!gather_.has_room(small ? bytes.size() : 0)) flush(ec);
    if (ec) return;
    if (small) {
      gather_.copy(bytes);
    } else {
      gather_.reference(bytes);
    }
  }
}

void frame_writer::flush(std::error_code& ec) noexcept {
  if (!gather_.empty()) write_iov(gather_.iov(), gather_.count(), ec);
  gather_.clear();
}

void frame_writer::send_python_style(parts message, std::size_t total,
                                     std::error_code& ec) noexcept {
  // Python's Connection._send_bytes: header and payload in one write up to 16 KiB (it
  // concatenates them), two writes above.
  const frame_header header = encode_frame_header(total);
  if (total <= python_single_write_limit) {
    std::byte* out = gather_.scratch().data();
    std::memcpy(out, header.bytes.data(), header.size());
    std::size_t part = 0;
    std::size_t offset = 0;
    copy_parts(message, part, offset, out + header.size(), total);
    write_bytes(out, header.size() + total, ec);
    return;
  }
  write_bytes(header.bytes.data(), header.size(), ec);
  for (std::size_t i = 0; i < message.size() && !ec; ++i) {
    if (!message[i].empty()) write_bytes(message[i].data(), message[i].size(), ec);
  }
}

bool frame_writer::ring_can_hold(std::size_t largest) const noexcept {
  return staging_ring::size_for(capacity_, largest) <=
         std::max(max_ring_size, staging_ring::size_for(capacity_, 0));
}

staging_ring* frame_writer::ring(std::size_t largest) noexcept {
  if (ring_) {
    // The ring's rule holds while the pipe is no larger than the ring was sized for. pipes sizes
    // pipes only at construction, but someone else may grow it (fcntl, a foreign peer). Since
    // only this writer adds bytes, a capacity read right before memory is reused is still true
    // when it is reused. One F_GETPIPE_SZ per staged chunk, about 150 ns.
    const std::size_t now = pipe_size(out_.get());
    if (now > ring_->pipe_capacity()) {
      if (loan_.ticket != 0) return nullptr;  // a loan lives in this ring: plain writes for now
      capacity_ = now;
      ring_.reset();  // a fresh ring for the new size; the pipe keeps the old pages alive
    }
  }
  if (ring_ && largest <= ring_->largest()) return ring_.get();
  if (!ring_can_hold(largest)) return nullptr;
  std::error_code ec;
  auto fresh = std::unique_ptr<staging_ring>(new (std::nothrow) staging_ring(
      capacity_, std::max(largest, ring_ ? ring_->largest() : 0), ec));
  if (!fresh || ec) {
    if (!ring_) zero_copy_ = false;  // no memory for a ring: plain writes from now on
    return nullptr;
  }
  ring_ = std::move(fresh);
  return ring_.get();
}

// Stages `message` through the ring: a whole frame (with_header), or bytes that continue one.
void frame_writer::send_staged(parts message, std::size_t total, bool with_header,
                               std::error_code& ec) noexcept {
  const frame_header header = encode_frame_header(total);
  std::size_t left = (with_header ? header.size() : 0) + total;
  std::size_t part = 0;
  std::size_t offset = 0;
  bool header_sent = !with_header;
  // The header goes in the ring right before the payload, so that both leave in one vmsplice.
  // Chunks of at most half the pipe keep the ring's guarantee (see staging_ring).
  while (zero_copy_ && left > 0) {
    staging_ring* staging = ring(0);
    if (staging == nullptr) break;
    const auto chunk = staging->reserve(
        std::min(left, min_chunk),
        std::min(left, staging_ring::chunk_limit(staging->pipe_capacity())), stream_bytes_);
    if (!chunk) break;  // everything is still possibly in the pipe: the rest goes by writev
    std::byte* out = chunk.bytes.data();
    std::size_t payload = chunk.bytes.size();
    if (!header_sent) {
      std::memcpy(out, header.bytes.data(), header.size());
      out += header.size();
      payload -= header.size();
      header_sent = true;
    }
    copy_parts(message, part, offset, out, payload);
    splice_region(chunk.bytes.data(), chunk.bytes.size(), ec);
    staging->publish(chunk.ticket, stream_bytes_);
    left -= chunk.bytes.size();
    if (ec) return;
  }
  if (left == 0) return;
  if (!header_sent) {
    append(message, total, ec);
  } else {
    append_rest(message, part, offset, ec);
  }
  if (!ec) flush(ec);
}

void frame_writer::splice_region(const std::byte* data, std::size_t size,
                                 std::error_code& ec) noexcept {
  // With spin set, a full pipe is first waited for by busy-polling: a reader draining a large
  // message frees room within tens of microseconds, less than a sleep and wake-up cost.
  bool nonblocking = spin_ > std::chrono::nanoseconds::zero();
  while (size > 0) {
    iovec iov{const_cast<std::byte*>(data), size};
    // May move less than asked: it splices what fits in the pipe once there is any room.
    const ssize_t n = syscalls().vmsplice(out_.get(), &iov, 1, nonblocking ? SPLICE_F_NONBLOCK : 0);
    if (n > 0) {
      data += n;
      size -= static_cast<std::size_t>(n);
      stream_bytes_ += static_cast<std::uint64_t>(n);
      nonblocking = spin_ > std::chrono::nanoseconds::zero();
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      if (nonblocking) {
        // Room within the spin: try again at once; none: sleep in vmsplice next time.
        nonblocking = spin_ready(out_.get(), POLLOUT, spin_);
      } else if (!wait_writable(ec)) {
        return;  // a non-blocking descriptor handed to adopt() sleeps in poll instead
      }
      continue;
    }
    if (n < 0 && errno == EPIPE) {
      ec = make_error_code(errc::peer_closed);
      return;
    }
    // Refused (not a pipe, seccomp, an old or odd kernel...): copy the rest, and never again.
    zero_copy_ = false;
    write_bytes(data, size, ec);
    return;
  }
}

void frame_writer::write_iov(iovec* iov, int count, std::error_code& ec) noexcept {
  while (count > 0) {
    const ssize_t n =
        syscalls().writev(out_.get(), iov, std::min(count, gather_buffer::max_iovecs));
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        if (!wait_writable(ec)) return;
        continue;
      }
      ec = write_error();
      return;
    }
    stream_bytes_ += static_cast<std::uint64_t>(n);
    auto done = static_cast<std::size_t>(n);
    while (count > 0 && done >= iov->iov_len) {
      done -= iov->iov_len;
      ++iov;
      --count;
    }
    if (count > 0) {
      if (n == 0) {  // never for a pipe with bytes to write; do not spin on it
        ec = std::make_error_code(std::errc::io_error);
        return;
      }
      iov->iov_base = static_cast<std::byte*>(iov->iov_base) + done;
      iov->iov_len -= done;
    }
  }
}

void frame_writer::write_bytes(const std::byte* data, std::size_t size,
                               std::error_code& ec) noexcept {
  iovec iov{const_cast<std::byte*>(data), size};
  write_iov(&iov, 1, ec);
}

bool frame_writer::wait_writable(std::error_code& ec) noexcept {
  // A non-blocking descriptor handed to adopt(): block in poll instead.
  wait_ready(out_.get(), POLLOUT, forever, std::chrono::nanoseconds::zero(), ec);
  return !ec;
}

void frame_writer::drop_loan() noexcept {
  // Memory of which part was spliced may still be in the pipe: published, not given back.
  if (loan_.ticket != 0 && ring_) {
    if (loan_.sent > 0) {
      ring_->publish(loan_.ticket, stream_bytes_);
    } else {
      ring_->discard(loan_.ticket);
    }
  } else if (loan_.large) {
    if (loan_.sent > 0) {
      large_loans_.published(stream_bytes_);
    } else {
      large_loans_.returned();
    }
  }
  loan_ = {};
}

std::span<std::byte> frame_writer::loan(std::size_t size, std::error_code& ec) noexcept {
  if (!usable(size, ec)) return {};
  drop_loan();
  // The frame header goes in the alignment slot right before the payload.
  const std::size_t frame = staging_ring::alignment + size;
  if (zero_copy_for(size)) {
    if (!ring_can_hold(frame)) {
      const std::span<std::byte> memory =
          large_loans_.take(frame, stream_bytes_, pipe_size(out_.get()));
      if (!memory.empty()) {
        loan_ = {memory.data() + staging_ring::alignment, size};
        loan_.large = true;
        return {loan_.data, size};
      }
    } else if (staging_ring* staging = ring(frame)) {
      if (const auto r = staging->reserve(frame, frame, stream_bytes_)) {
        loan_ = {r.bytes.data() + staging_ring::alignment, size, r.ticket};
        return {loan_.data, size};
      }
    }
  }
  if (heap_loan_size_ < frame) {
    heap_loan_.reset();
    heap_loan_size_ = 0;
    auto* memory = static_cast<std::byte*>(
        ::operator new[](frame, std::align_val_t{staging_ring::alignment}, std::nothrow));
    if (memory == nullptr) {
      ec = std::make_error_code(std::errc::not_enough_memory);
      return {};
    }
    heap_loan_.reset(memory);
    heap_loan_size_ = frame;
  }
  loan_ = {heap_loan_.get() + staging_ring::alignment, size, 0};
  return {loan_.data, size};
}

// Checks that a frame may start and writes the loan's header into the slot before its payload.
bool frame_writer::start_loan_frame(std::size_t length, std::error_code& ec) noexcept {
  if (!begin_send(length, ec)) return false;
  const frame_header header = encode_frame_header(length);
  std::memcpy(loan_.data - header.size(), header.bytes.data(), header.size());
  loan_.length = length;
  return true;
}

// Puts bytes [loan_.sent, end) of the loan's frame into the pipe, the way its memory allows.
void frame_writer::send_loan_frame(std::size_t end, std::error_code& ec) noexcept {
  const std::size_t header_size = encode_frame_header(loan_.length).size();
  const std::byte* frame = loan_.data - header_size;
  const std::byte* from = frame + loan_.sent;
  const std::size_t size = end - loan_.sent;
  const std::uint64_t before = stream_bytes_;
  const bool spliceable = loan_.ticket != 0 || loan_.large;  // memory under the ring's rule
  if (spliceable && zero_copy_) {
    splice_region(from, size, ec);
  } else if (!spliceable && zero_copy_for(loan_.length)) {
    // A heap loan: staged through the ring in chunks, as send_bytes would, since one plain
    // write of tens of MiB through the pipe is several times slower than staging it.
    const std::span<const std::byte> bytes(from, size);
    send_staged(parts(&bytes, 1), size, false, ec);
  } else if (gather_writes_ || loan_.length <= python_single_write_limit ||
             loan_.sent >= header_size) {
    write_bytes(from, size, ec);
  } else {  // Python's way: the header, then the payload
    write_bytes(from, header_size - loan_.sent, ec);
    if (!ec) write_bytes(loan_.data, end - header_size, ec);
  }
  loan_.sent += static_cast<std::size_t>(stream_bytes_ - before);
}

void frame_writer::send_ahead(std::size_t ready, std::error_code& ec) noexcept {
  ec.clear();
  if (loan_.data == nullptr || ready > loan_.size) {
    ec = std::make_error_code(std::errc::invalid_argument);
    return;
  }
  if (broken_) {
    ec = broken_;
    return;
  }
  if (loan_.sent == 0 && !start_loan_frame(loan_.size, ec)) return;
  const std::size_t end = encode_frame_header(loan_.length).size() + ready;
  if (end <= loan_.sent) return;
  sigpipe_guard guard(guard_sigpipe_);
  const std::uint64_t start = stream_bytes_;
  send_loan_frame(end, ec);
  if (ec) drop_loan();  // the message failed, as a failed commit would
  finish(start, guard, ec);
}

void frame_writer::commit(std::size_t used, std::error_code& ec) noexcept {
  ec.clear();
  if (loan_.data == nullptr || used > loan_.size || (loan_.sent > 0 && used != loan_.length)) {
    ec = std::make_error_code(std::errc::invalid_argument);
    return;
  }
  if (broken_) {
    ec = broken_;
    return;
  }
  if (loan_.sent == 0 && !start_loan_frame(used, ec)) return;
  sigpipe_guard guard(guard_sigpipe_);
  const std::uint64_t start = stream_bytes_;
  send_loan_frame(encode_frame_header(used).size() + used, ec);
  if (loan_.ticket != 0 && ring_) ring_->publish(loan_.ticket, stream_bytes_);
  if (loan_.large) large_loans_.published(stream_bytes_);
  loan_ = {};
  if (heap_loan_size_ > heap_loan_keep) {
    heap_loan_.reset();
    heap_loan_size_ = 0;
  }
  large_loans_.trim(heap_loan_keep);
  finish(start, guard, ec);
}

void frame_writer::send_from_fd(int in_fd, std::size_t length, std::error_code& ec) noexcept {
  if (!begin_send(length, ec)) return;
  sigpipe_guard guard(guard_sigpipe_);
  const std::uint64_t start = stream_bytes_;
  const frame_header header = encode_frame_header(length);
  write_bytes(header.bytes.data(), header.size(), ec);
  std::size_t left = length;
  bool use_splice = may_splice_from(in_fd);
  while (!ec && left > 0) {
    ssize_t n;
    if (use_splice) {
      // Page cache pages and socket buffers go into the pipe by reference: nothing is copied in
      // user space.
      n = syscalls().splice(in_fd, nullptr, out_.get(), nullptr, left, 0);
    } else {
      const std::span<std::byte> bounce = gather_.scratch();
      n = syscalls().read(in_fd, bounce.data(), std::min(left, bounce.size()));
      if (n > 0) write_bytes(bounce.data(), static_cast<std::size_t>(n), ec);
    }
    if (n > 0) {
      // Spliced bytes stay off the staging ring's clock: a socket's pipe buffers may hold more
      // than a page each, and the ring's proof counts bytes in buffers of at most a page.
      left -= static_cast<std::size_t>(n);
    } else if (n == 0) {
      ec = make_error_code(errc::source_ended);
    } else if (errno == EINTR) {
      continue;
    } else if (errno == EAGAIN) {
      // Either side may be non-blocking: wait for the source, then for room in the pipe.
      if (wait_ready(in_fd, POLLIN, forever, std::chrono::nanoseconds::zero(), ec)) {
        if (use_splice && !ec) wait_writable(ec);
      }
    } else if (use_splice && (errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP)) {
      use_splice = false;  // a source splice does not support: copy through user space
    } else {
      ec = errno == EPIPE && use_splice ? make_error_code(errc::peer_closed) : last_os_error();
    }
  }
  finish(start, guard, ec);
}

// One write that never waits: the bytes the pipe takes now (0 when it is full). RWF_NOWAIT makes
// a write non-blocking without touching O_NONBLOCK, which other holders of the pipe share. Where
// the kernel refuses it: poll for room, then write at most PIPE_BUF bytes, which a pipe with room
// for one more buffer always takes whole.
std::size_t frame_writer::write_now(iovec* iov, int count, std::error_code& ec) noexcept {
  for (;;) {
    ssize_t n;
    if (!nowait_refused_) {
      n = syscalls().pwritev2(out_.get(), iov, count, -1, RWF_NOWAIT);
      if (n < 0 && (errno == EOPNOTSUPP || errno == EINVAL || errno == ENOSYS)) {
        nowait_refused_ = true;
        continue;
      }
    } else {
      pollfd p{out_.get(), POLLOUT, 0};
      const int ready = syscalls().poll(&p, 1, 0);
      if (ready == 0) return 0;
      if (ready < 0 && errno == EINTR) continue;
      iovec first{iov[0].iov_base, std::min<std::size_t>(iov[0].iov_len, PIPE_BUF)};
      n = syscalls().writev(out_.get(), &first, 1);
    }
    if (n >= 0) {
      stream_bytes_ += static_cast<std::uint64_t>(n);
      return static_cast<std::size_t>(n);
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN) ec = write_error();
    return 0;
  }
}

bool frame_writer::send_message_until(parts message, deadline by, std::error_code& ec) noexcept {
  std::size_t total = 0;
  for (const auto& part : message) total += part.size();
  if (!usable(total, ec)) return false;
  if (!flush_until(by, ec)) return false;  // a kept tail goes first; if it cannot, nothing new
  sigpipe_guard guard(guard_sigpipe_);
  const std::uint64_t start = stream_bytes_;
  const frame_header header = encode_frame_header(total);
  std::vector<iovec> iov;
  iov.reserve(message.size() + 1);
  iov.push_back({const_cast<std::byte*>(header.bytes.data()), header.size()});
  for (const auto& part : message) {
    if (!part.empty()) iov.push_back({const_cast<std::byte*>(part.data()), part.size()});
  }
  std::size_t first = 0;  // iov[first..] is what is left
  while (first < iov.size()) {
    const int count = static_cast<int>(std::min<std::size_t>(iov.size() - first, IOV_MAX));
    std::size_t n = write_now(iov.data() + first, count, ec);
    if (ec) {
      finish(start, guard, ec);
      return false;
    }
    for (; first < iov.size() && n >= iov[first].iov_len; ++first) n -= iov[first].iov_len;
    if (first < iov.size()) {
      iov[first].iov_base = static_cast<std::byte*>(iov[first].iov_base) + n;
      iov[first].iov_len -= n;
    }
    if (first == iov.size()) break;
    const auto left = by - std::chrono::steady_clock::now();
    if (left <= std::chrono::nanoseconds::zero() ||
        !wait_ready(out_.get(), POLLOUT, left, std::chrono::nanoseconds::zero(), ec)) {
      if (ec) {
        finish(start, guard, ec);
        return false;
      }
      if (stream_bytes_ == start) return false;  // nothing of it went: not accepted
      for (; first < iov.size(); ++first) {      // accepted: keep the rest for the next write
        const auto* from = static_cast<const std::byte*>(iov[first].iov_base);
        tail_.insert(tail_.end(), from, from + iov[first].iov_len);
      }
      return true;
    }
  }
  return true;
}

bool frame_writer::flush_until(deadline by, std::error_code& ec) noexcept {
  ec.clear();
  if (tail_.empty()) return true;
  if (!out_) {
    ec = std::make_error_code(std::errc::bad_file_descriptor);
    return false;
  }
  sigpipe_guard guard(guard_sigpipe_);
  std::size_t done = 0;
  for (;;) {
    iovec iov{tail_.data() + done, tail_.size() - done};
    done += write_now(&iov, 1, ec);
    if (!ec && done == tail_.size()) {
      tail_.clear();
      return true;
    }
    const auto left = by - std::chrono::steady_clock::now();
    if (ec || left <= std::chrono::nanoseconds::zero() ||
        !wait_ready(out_.get(), POLLOUT, left, std::chrono::nanoseconds::zero(), ec)) {
      tail_.erase(tail_.begin(), tail_.begin() + static_cast<std::ptrdiff_t>(done));
      if (ec) {
        broken_ = ec;  // the kept frame is cut short on the wire
        if (ec == errc::peer_closed) guard.saw_epipe();
      }
      return false;
    }
  }
}

bool frame_writer::writable_until(deadline by, std::error_code& ec) noexcept {
  if (!usable(0, ec) || !flush_until(by, ec)) return false;
  const auto left = by - std::chrono::steady_clock::now();
  return wait_ready(out_.get(), POLLOUT,
                    std::max(left, std::chrono::steady_clock::duration::zero()),
                    std::chrono::nanoseconds::zero(), ec);
}

fd frame_writer::release() noexcept {
  drop_loan();
  return std::move(out_);
}

void frame_writer::close(std::error_code& ec) noexcept {
  drop_loan();
  if (!tail_.empty()) {  // an accepted message is finished first (blocking, as a send)
    std::error_code unsent;
    begin_send(0, unsent);
  }
  out_.close(ec);
}

}  // namespace pipes::detail
