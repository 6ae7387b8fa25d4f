// pipes::Connection: a message channel between two processes over kernel pipes, speaking the wire
// format of Python's multiprocessing.connection (see frame.hpp), tuned for speed.
//
// Every throwing call raises std::system_error (OS errors, with errno) or pipes::error (the
// conditions in error.hpp); its noexcept twin takes a std::error_code& instead. A timeout is a
// value (std::nullopt or false), never an error. SIGPIPE never kills the process: a send to a
// closed reader reports errc::peer_closed.
//
// Threading: at most one thread sending and one thread receiving per connection at a time.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <system_error>
#include <utility>
#include <vector>

#include "pipes/error.hpp"
#include "pipes/fd.hpp"
#include "pipes/options.hpp"

namespace pipes {

namespace detail {
class frame_reader;
class frame_writer;
}  // namespace detail

class Connection {
 public:
  // A connection with neither end; every call on it fails with EBADF.
  Connection() noexcept;
  // Takes ownership of both ends; either may be empty (a one-way connection). Sizes the pipe
  // behind `write_end` per opts.pipe_capacity; the pipe behind `read_end` is left as its writer
  // sized it. Both may be one descriptor for both directions (a Unix socket, e.g. the one behind
  // Python's default duplex Pipe()): it is owned and closed once; the send side writes to a
  // duplicate of it (so write_fd() differs from read_fd()), and the levers that need a pipe
  // (vmsplice, the pipe size) are off there, as uses_zero_copy() and capacity() say.
  Connection(fd read_end, fd write_end, const options& opts = {});
  // The same from raw descriptors (-1 for a missing direction), e.g. received through argv.
  static Connection adopt(int read_fd, int write_fd, const options& opts = {});

  Connection(Connection&& other) noexcept;
  // Closes this connection's descriptors silently first.
  Connection& operator=(Connection&& other) noexcept;
  ~Connection();

  // --- sending. Each call blocks until the whole message is in the pipe. ---

  // Sends one message. errc::message_too_large above opts().max_message_size (nothing sent);
  // errc::peer_closed when the reader has gone.
  void send_bytes(std::span<const std::byte> message);
  void send_bytes(std::span<const std::byte> message, std::error_code& ec) noexcept;

  // Sends one message made of the concatenation of `parts`, without joining them first.
  void send_parts(std::span<const std::span<const std::byte>> parts);
  void send_parts(std::span<const std::span<const std::byte>> parts, std::error_code& ec) noexcept;

  // Sends one message unless `timeout` passes first, and never waits longer (plus scheduling
  // delay). True when the message was accepted whole: what the pipe had no room for by then is
  // kept by the connection (a copy) and written first by the next send of any kind, by
  // flush_for, or by close() (which then blocks as a send would; destroying the connection
  // drops it, and the reader sees the stream end inside a message). False when nothing of it
  // was accepted: the connection is as before. Plain writes only (never vmsplice); a tail kept
  // by an earlier call is written first, and if it cannot be within `timeout`, false.
  bool send_bytes_for(std::span<const std::byte> message, std::chrono::nanoseconds timeout);
  bool send_bytes_for(std::span<const std::byte> message, std::chrono::nanoseconds timeout,
                      std::error_code& ec) noexcept;
  // Writes a tail kept by send_bytes_for unless `timeout` passes first; true when none is left.
  bool flush_for(std::chrono::nanoseconds timeout);
  bool flush_for(std::chrono::nanoseconds timeout, std::error_code& ec) noexcept;
  // The send side's readiness, for event loops (with write_fd()): true when no tail is kept (it
  // is written first, within `timeout`) and the pipe has room for a write.
  bool poll_send(std::chrono::nanoseconds timeout = std::chrono::nanoseconds::zero());
  bool poll_send(std::chrono::nanoseconds timeout, std::error_code& ec) noexcept;

  // Sends each element as one message, in as few system calls as possible (up to IOV_MAX iovecs
  // per writev). All sizes are checked before anything is sent.
  void send_batch(std::span<const std::span<const std::byte>> messages);
  void send_batch(std::span<const std::span<const std::byte>> messages,
                  std::error_code& ec) noexcept;

  // Writable memory for a message of up to `size` bytes: inside the zero-copy staging ring when
  // zero copy is on, `size` reaches the threshold and the ring can hold it; otherwise an internal
  // buffer. Either way it works for any size up to max_message_size and is 64-byte aligned.
  // Valid until commit(), the next loan(), or close()/release(); a second loan() abandons the
  // first (nothing is sent).
  std::span<std::byte> loan(std::size_t size);
  std::span<std::byte> loan(std::size_t size, std::error_code& ec) noexcept;
  // Sends the loan's first `ready` bytes now, while the caller goes on building the rest: for
  // messages larger than the pipe, so that the receiver reads while the sender builds (commit()
  // alone can overlap with the reader only as much as the pipe holds). Waits for room as a send
  // does. The message's length is then the loan's size, commit() must follow (commit(used)
  // with a smaller `used` fails with invalid_argument), and until it does every other send, a
  // new loan() and release() fail with std::errc::operation_in_progress or
  // device_or_resource_busy; close() cuts the message short (the peer sees it end mid-message).
  // A `ready` at or below what was already sent does nothing; larger than the loan fails with
  // invalid_argument. On any other failure the loan is gone, as after a failed commit().
  void send_ahead(std::size_t ready);
  void send_ahead(std::size_t ready, std::error_code& ec) noexcept;
  // Sends the loaned bytes as one message: all of them, or the first `used`. Without a loan, or
  // with `used` larger than it, fails with std::errc::invalid_argument (the loan stays).
  void commit();
  void commit(std::error_code& ec) noexcept;
  void commit(std::size_t used);
  void commit(std::size_t used, std::error_code& ec) noexcept;

  // Sends `length` bytes read from `in_fd` (a file, socket or pipe, from its current offset,
  // which advances) as one message, moved by splice() with no user-space copy; sources splice
  // refuses are copied. If the source ends early: errc::source_ended, and the send side is
  // unusable (part of a frame is in the pipe). Spliced file pages are referenced, not copied:
  // do not modify that part of the file until the peer has read the message.
  void send_from_fd(int in_fd, std::size_t length);
  void send_from_fd(int in_fd, std::size_t length, std::error_code& ec) noexcept;

  // --- receiving. Each call blocks until a whole message has arrived. ---
  // Errors: errc::peer_closed at end of file between messages; errc::peer_closed_mid_message,
  // errc::message_too_large and errc::malformed_header leave the receive side unusable (every
  // later receive reports the same error).

  std::vector<std::byte> recv_bytes();
  std::vector<std::byte> recv_bytes(std::error_code& ec) noexcept;

  // Receives into `buffer` and returns the message size; no allocation. A message larger than
  // `buffer` throws buffer_too_short_error carrying its size (the twin sets
  // errc::buffer_too_short and returns the size) and stays readable.
  std::size_t recv_bytes_into(std::span<std::byte> buffer);
  std::size_t recv_bytes_into(std::span<std::byte> buffer, std::error_code& ec) noexcept;

  // The same, giving up with std::nullopt when no message has started to arrive within
  // `timeout`. The timeout covers the wait for the header; once it is in, the call waits for the
  // payload (as Python's poll() + recv_bytes() would).
  std::optional<std::vector<std::byte>> recv_bytes_for(std::chrono::nanoseconds timeout);
  std::optional<std::vector<std::byte>> recv_bytes_for(std::chrono::nanoseconds timeout,
                                                       std::error_code& ec) noexcept;
  std::optional<std::size_t> recv_bytes_into_for(std::span<std::byte> buffer,
                                                 std::chrono::nanoseconds timeout);
  std::optional<std::size_t> recv_bytes_into_for(std::span<std::byte> buffer,
                                                 std::chrono::nanoseconds timeout,
                                                 std::error_code& ec) noexcept;

  // Receives the next message into `out_fd` and returns its size. Bytes already read ahead are
  // written; the rest is spliced when `out_fd` is a regular file or block device (the kernel
  // copies into the page cache) and copied otherwise: splicing into a socket or pipe would pass
  // on references to the sender's pages, which a zero-copy sender reuses. Writes at out_fd's
  // current offset. If writing fails the rest of the message is skipped, the error reported, and
  // the connection stays usable.
  std::size_t recv_into_fd(int out_fd);
  std::size_t recv_into_fd(int out_fd, std::error_code& ec) noexcept;

  // True when a message, the start of one, or end of file is there to receive (counting bytes
  // already read ahead); false when `timeout` passes first. Spins first if opts().spin is set.
  bool poll(std::chrono::nanoseconds timeout = std::chrono::nanoseconds::zero());
  bool poll(std::chrono::nanoseconds timeout, std::error_code& ec) noexcept;

  // --- ownership ---

  // Closes both ends (and abandons a loan).
  void close();
  void close(std::error_code& ec) noexcept;

  // Gives up both descriptors ({read end, write end}, an empty fd for a missing one), still
  // owned, e.g. to hand them to a child or to another Connection. Refuses with
  // std::errc::device_or_resource_busy when read-ahead holds bytes of the stream that the
  // descriptor no longer has, a bounded send's tail is still kept, or a loan was partly sent
  // ahead (they would be lost or cut short); the connection is then unchanged.
  std::pair<fd, fd> release();
  std::pair<fd, fd> release(std::error_code& ec) noexcept;
  // Whether release() would succeed now: no byte read ahead, nothing part sent. Ask before
  // duplicating the descriptors to hand them on (as Python's multiprocessing passes a
  // connection): what this object holds would not go with the duplicates.
  bool releasable() const noexcept;

  // --- facts ---

  // The real size of the pipe this connection writes to (or reads from, when it only reads), as
  // read back with F_GETPIPE_SZ; 0 when the descriptor is not a pipe.
  std::size_t capacity() const noexcept;
  // Whether sends vmsplice large payloads: opts().zero_copy, and a pipe of at least 64 KiB to
  // write to (never a socket), and the staging ring's memory was available.
  bool uses_zero_copy() const noexcept;
  const options& opts() const noexcept { return opts_; }
  int read_fd() const noexcept;
  int write_fd() const noexcept;

 private:
  options opts_;
  std::unique_ptr<detail::frame_reader> reader_;
  std::unique_ptr<detail::frame_writer> writer_;
};

// The two ends of one kernel pipe: messages go from `writer` to `reader`.
struct pipe_ends {
  Connection reader;
  Connection writer;
};

// A one-way pipe (pipe2 with O_CLOEXEC), sized per `opts`.
pipe_ends make_pipe(const options& opts = {});

// Two connected two-way connections over two kernel pipes (both O_CLOEXEC).
std::pair<Connection, Connection> make_duplex(const options& opts = {});

}  // namespace pipes
