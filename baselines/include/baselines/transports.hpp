// Factories of every transport the suite measures: the `pipes` library's (tuned_pipe.cpp) and
// the rivals'. Each is made in the controlling process before fork(); see channel.hpp for the
// life cycle.
#pragma once

#include <memory>

#include "baselines/channel.hpp"

namespace baselines {

// The `pipes` library with its default options (a big pipe, one writev, read-ahead, vmsplice),
// sending with send_bytes; its zero-copy twin building each message in a loan; the loan's
// like-for-like partner building in a user buffer; send_batch for small messages; and spinning
// before blocking.
std::unique_ptr<Transport> make_tuned_pipe(const TransportParams& params);
std::unique_ptr<Transport> make_tuned_pipe_loan(const TransportParams& params);
std::unique_ptr<Transport> make_tuned_pipe_built(const TransportParams& params);
std::unique_ptr<Transport> make_tuned_pipe_batch(const TransportParams& params);
std::unique_ptr<Transport> make_tuned_pipe_spin(const TransportParams& params);
// The lead (or its loan twin) with the pipe capacity asked at `capacity` bytes: the capacity
// lever. Above pipe-max-size only a process with CAP_SYS_RESOURCE gets it; otherwise the library
// halves the request until the kernel accepts it, and describe() and pipe_capacity() say what
// was got.
std::unique_ptr<Transport> make_tuned_pipe_at_capacity(const TransportParams& params,
                                                       std::size_t capacity, bool loan);

// The ablation: all levers off (the library's Python-equivalent path), then one lever at a time.
std::unique_ptr<Transport> make_pipe_levers_off(const TransportParams& params);
std::unique_ptr<Transport> make_pipe_bigbuf(const TransportParams& params);
std::unique_ptr<Transport> make_pipe_writev(const TransportParams& params);
std::unique_ptr<Transport> make_pipe_readahead(const TransportParams& params);
std::unique_ptr<Transport> make_pipe_vmsplice(const TransportParams& params);

// pipe() at the default size, one per direction, framed as Python's Connection frames.
std::unique_ptr<Transport> make_naive_pipe(const TransportParams& params);

// One AF_UNIX stream socketpair at default buffer sizes (what Python's duplex Pipe() uses),
// framed as Python's Connection frames.
std::unique_ptr<Transport> make_socketpair(const TransportParams& params);

// boost::interprocess::message_queue, one per direction, messages chunked to its slot size.
std::unique_ptr<Transport> make_boost_mq(const TransportParams& params);

// POSIX message queues (mq_open), one per direction, within the system's limits as an
// unprivileged user gets them; messages chunked to msgsize_max. Throws `unsupported` if the
// limits are too small.
std::unique_ptr<Transport> make_posix_mq(const TransportParams& params);

// A single-producer single-consumer byte ring per direction in shared memory, futex wake-ups.
// shm_ring copies each message out into the receiver's buffer, as every other receiver does;
// shm_ring_inplace hands the receiver a view into the ring (released on its next receive), its
// ring sized to hold two messages of the run's size whole (up to 256 MiB per direction).
std::unique_ptr<Transport> make_shm_ring(const TransportParams& params);
std::unique_ptr<Transport> make_shm_ring_inplace(const TransportParams& params);

// Cross-memory attach: the receiver copies each message out of the sender's memory with
// process_vm_readv after a small notice over a pipe (one copy in all). Throws `unsupported`
// where the kernel refuses one process reading another's memory.
std::unique_ptr<Transport> make_cma(const TransportParams& params);
// The same with the copy on the sender's side: process_vm_writev into one of two receive buffers
// of the receiver's, which reads it in place, so the next copy overlaps the receiver's work.
std::unique_ptr<Transport> make_cma_push(const TransportParams& params);

// memfds: the sender builds each message in one of a reused pool of memfds, sealed against
// shrinking, growing and future writes and passed once with SCM_RIGHTS; the receiver checks the
// seals and reads the message in place, read-only (zero copies beyond building); a slot is reused
// once the receiver has released it. Throws `unsupported` where memfd_create or sealing is
// refused.
std::unique_ptr<Transport> make_memfd(const TransportParams& params);
// The same with a fresh memfd per message, sealed against writes too, so that nothing the sender
// does can change what the receiver reads: the kernel allocates and zeroes every message's pages.
std::unique_ptr<Transport> make_memfd_sealed(const TransportParams& params);

// One TCP connection over 127.0.0.1 (TCP_NODELAY, kernel-autotuned buffers), framed as Python's
// Connection frames: the plain-socket way to a peer on another host, measured on one.
std::unique_ptr<Transport> make_tcp(const TransportParams& params);

// ZeroMQ PAIR sockets over ipc:// (a private directory) and over tcp://127.0.0.1.
std::unique_ptr<Transport> make_zmq_ipc(const TransportParams& params);
std::unique_ptr<Transport> make_zmq_tcp(const TransportParams& params);

}  // namespace baselines
