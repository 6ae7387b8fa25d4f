#include "pipes/connection.hpp"

#include <fcntl.h>

#include <cerrno>
#include <new>

#include "frame_reader.hpp"
#include "frame_writer.hpp"
#include "readiness.hpp"
#include "sigpipe_guard.hpp"
#include "syscalls.hpp"

namespace pipes {
namespace {

using detail::forever;

std::error_code no_descriptor() noexcept {
  return std::make_error_code(std::errc::bad_file_descriptor);
}

// `timeout` from now, where `forever` (or anything too long to add) never comes.
detail::frame_writer::deadline deadline_after(std::chrono::nanoseconds timeout) noexcept {
  const auto now = std::chrono::steady_clock::now();
  if (timeout >= std::chrono::steady_clock::time_point::max() - now) {
    return std::chrono::steady_clock::time_point::max();
  }
  return now + std::max(timeout, std::chrono::nanoseconds::zero());
}

}  // namespace

Connection::Connection() noexcept = default;

Connection::Connection(fd read_end, fd write_end, const options& opts) : opts_(opts) {
  // One descriptor for both directions (a socket, as Python's duplex Pipe() gives): the reader
  // keeps it and the writer gets a duplicate of its own, so that each descriptor has one owner
  // and is closed once (a second close could close a descriptor another thread just opened).
  if (read_end && read_end.get() == write_end.get()) {
    static_cast<void>(write_end.release());
    write_end = duplicate(read_end);
  }
  // Decided once: with SIGPIPE ignored process-wide there is nothing to guard.
  const bool guard_sigpipe = !detail::sigpipe_ignored();
  if (read_end) {
    reader_ = std::make_unique<detail::frame_reader>(std::move(read_end), opts, guard_sigpipe);
  }
  if (write_end) {
    writer_ = std::make_unique<detail::frame_writer>(std::move(write_end), opts, guard_sigpipe);
  }
}

Connection Connection::adopt(int read_fd, int write_fd, const options& opts) {
  return Connection(fd(read_fd), fd(write_fd), opts);
}

Connection::Connection(Connection&& other) noexcept = default;
Connection& Connection::operator=(Connection&& other) noexcept = default;
Connection::~Connection() = default;

// --- sending ---

void Connection::send_bytes(std::span<const std::byte> message, std::error_code& ec) noexcept {
  send_parts({&message, 1}, ec);
}

void Connection::send_bytes(std::span<const std::byte> message) {
  std::error_code ec;
  send_bytes(message, ec);
  if (ec) throw_error(ec, "pipes::Connection::send_bytes");
}

void Connection::send_parts(std::span<const std::span<const std::byte>> parts,
                            std::error_code& ec) noexcept {
  if (!writer_) {
    ec = no_descriptor();
    return;
  }
  writer_->send_message(parts, ec);
}

void Connection::send_parts(std::span<const std::span<const std::byte>> parts) {
  std::error_code ec;
  send_parts(parts, ec);
  if (ec) throw_error(ec, "pipes::Connection::send_parts");
}

bool Connection::send_bytes_for(std::span<const std::byte> message,
                                std::chrono::nanoseconds timeout, std::error_code& ec) noexcept {
  if (!writer_) {
    ec = no_descriptor();
    return false;
  }
  return writer_->send_message_until({&message, 1}, deadline_after(timeout), ec);
}

bool Connection::send_bytes_for(std::span<const std::byte> message,
                                std::chrono::nanoseconds timeout) {
  std::error_code ec;
  const bool accepted = send_bytes_for(message, timeout, ec);
  if (ec) throw_error(ec, "pipes::Connection::send_bytes_for");
  return accepted;
}

bool Connection::flush_for(std::chrono::nanoseconds timeout, std::error_code& ec) noexcept {
  ec.clear();
  return !writer_ || writer_->flush_until(deadline_after(timeout), ec);
}

bool Connection::flush_for(std::chrono::nanoseconds timeout) {
  std::error_code ec;
  const bool flushed = flush_for(timeout, ec);
  if (ec) throw_error(ec, "pipes::Connection::flush_for");
  return flushed;
}

bool Connection::poll_send(std::chrono::nanoseconds timeout, std::error_code& ec) noexcept {
  if (!writer_) {
    ec = no_descriptor();
    return false;
  }
  return writer_->writable_until(deadline_after(timeout), ec);
}

bool Connection::poll_send(std::chrono::nanoseconds timeout) {
  std::error_code ec;
  const bool writable = poll_send(timeout, ec);
  if (ec) throw_error(ec, "pipes::Connection::poll_send");
  return writable;
}

void Connection::send_batch(std::span<const std::span<const std::byte>> messages,
                            std::error_code& ec) noexcept {
  if (!writer_) {
    ec = no_descriptor();
    return;
  }
  writer_->send_batch(messages, ec);
}

void Connection::send_batch(std::span<const std::span<const std::byte>> messages) {
  std::error_code ec;
  send_batch(messages, ec);
  if (ec) throw_error(ec, "pipes::Connection::send_batch");
}

std::span<std::byte> Connection::loan(std::size_t size, std::error_code& ec) noexcept {
  if (!writer_) {
    ec = no_descriptor();
    return {};
  }
  return writer_->loan(size, ec);
}

std::span<std::byte> Connection::loan(std::size_t size) {
  std::error_code ec;
  const auto memory = loan(size, ec);
  if (ec) throw_error(ec, "pipes::Connection::loan");
  return memory;
}

void Connection::send_ahead(std::size_t ready, std::error_code& ec) noexcept {
  if (!writer_) {
    ec = no_descriptor();
    return;
  }
  writer_->send_ahead(ready, ec);
}

void Connection::send_ahead(std::size_t ready) {
  std::error_code ec;
  send_ahead(ready, ec);
  if (ec) throw_error(ec, "pipes::Connection::send_ahead");
}

void Connection::commit(std::error_code& ec) noexcept {
  if (!writer_) {
    ec = no_descriptor();
    return;
  }
  writer_->commit_all(ec);
}

void Connection::commit() {
  std::error_code ec;
  commit(ec);
  if (ec) throw_error(ec, "pipes::Connection::commit");
}

void Connection::commit(std::size_t used, std::error_code& ec) noexcept {
  if (!writer_) {
    ec = no_descriptor();
    return;
  }
  writer_->commit(used, ec);
}

void Connection::commit(std::size_t used) {
  std::error_code ec;
  commit(used, ec);
  if (ec) throw_error(ec, "pipes::Connection::commit");
}

void Connection::send_from_fd(int in_fd, std::size_t length, std::error_code& ec) noexcept {
  if (!writer_) {
    ec = no_descriptor();
    return;
  }
  writer_->send_from_fd(in_fd, length, ec);
}

void Connection::send_from_fd(int in_fd, std::size_t length) {
  std::error_code ec;
  send_from_fd(in_fd, length, ec);
  if (ec) throw_error(ec, "pipes::Connection::send_from_fd");
}

// --- receiving ---

std::optional<std::vector<std::byte>> Connection::recv_bytes_for(std::chrono::nanoseconds timeout,
                                                                 std::error_code& ec) noexcept {
  ec.clear();
  if (!reader_) {
    ec = no_descriptor();
    return std::nullopt;
  }
  std::size_t size = 0;
  if (!reader_->next_message(timeout, size, ec) || ec) return std::nullopt;
  std::vector<std::byte> message;
  try {
    message.resize(size);
  } catch (const std::bad_alloc&) {
    ec = std::make_error_code(std::errc::not_enough_memory);  // the message stays readable
    return std::nullopt;
  }
  reader_->read_payload(message, ec);
  if (ec) return std::nullopt;
  return message;
}

std::optional<std::vector<std::byte>> Connection::recv_bytes_for(std::chrono::nanoseconds timeout) {
  std::error_code ec;
  auto message = recv_bytes_for(timeout, ec);
  if (ec) throw_error(ec, "pipes::Connection::recv_bytes_for");
  return message;
}

std::vector<std::byte> Connection::recv_bytes(std::error_code& ec) noexcept {
  auto message = recv_bytes_for(forever, ec);
  return message ? std::move(*message) : std::vector<std::byte>{};
}

std::vector<std::byte> Connection::recv_bytes() {
  std::error_code ec;
  auto message = recv_bytes(ec);
  if (ec) throw_error(ec, "pipes::Connection::recv_bytes");
  return message;
}

std::optional<std::size_t> Connection::recv_bytes_into_for(std::span<std::byte> buffer,
                                                           std::chrono::nanoseconds timeout,
                                                           std::error_code& ec) noexcept {
  ec.clear();
  if (!reader_) {
    ec = no_descriptor();
    return std::nullopt;
  }
  std::size_t size = 0;
  if (!reader_->next_message(timeout, size, ec)) return std::nullopt;
  if (ec) return std::nullopt;
  if (size > buffer.size()) {
    ec = make_error_code(errc::buffer_too_short);
    return size;
  }
  reader_->read_payload(buffer.first(size), ec);
  if (ec) return std::nullopt;
  return size;
}

std::optional<std::size_t> Connection::recv_bytes_into_for(std::span<std::byte> buffer,
                                                           std::chrono::nanoseconds timeout) {
  std::error_code ec;
  const auto size = recv_bytes_into_for(buffer, timeout, ec);
  if (ec == errc::buffer_too_short) {
    throw buffer_too_short_error(*size, "pipes::Connection::recv_bytes_into_for");
  }
  if (ec) throw_error(ec, "pipes::Connection::recv_bytes_into_for");
  return size;
}

std::size_t Connection::recv_bytes_into(std::span<std::byte> buffer, std::error_code& ec) noexcept {
  return recv_bytes_into_for(buffer, forever, ec).value_or(0);
}

std::size_t Connection::recv_bytes_into(std::span<std::byte> buffer) {
  std::error_code ec;
  const std::size_t size = recv_bytes_into(buffer, ec);
  if (ec == errc::buffer_too_short) {
    throw buffer_too_short_error(size, "pipes::Connection::recv_bytes_into");
  }
  if (ec) throw_error(ec, "pipes::Connection::recv_bytes_into");
  return size;
}

std::size_t Connection::recv_into_fd(int out_fd, std::error_code& ec) noexcept {
  ec.clear();
  if (!reader_) {
    ec = no_descriptor();
    return 0;
  }
  std::size_t size = 0;
  reader_->next_message(forever, size, ec);
  if (ec) return 0;
  reader_->move_payload(out_fd, ec);
  return ec ? 0 : size;
}

std::size_t Connection::recv_into_fd(int out_fd) {
  std::error_code ec;
  const std::size_t size = recv_into_fd(out_fd, ec);
  if (ec) throw_error(ec, "pipes::Connection::recv_into_fd");
  return size;
}

bool Connection::poll(std::chrono::nanoseconds timeout, std::error_code& ec) noexcept {
  ec.clear();
  if (!reader_) {
    ec = no_descriptor();
    return false;
  }
  return reader_->poll(timeout, ec);
}

bool Connection::poll(std::chrono::nanoseconds timeout) {
  std::error_code ec;
  const bool ready = poll(timeout, ec);
  if (ec) throw_error(ec, "pipes::Connection::poll");
  return ready;
}

// --- ownership ---

void Connection::close(std::error_code& ec) noexcept {
  ec.clear();
  std::error_code first;
  if (reader_) reader_->close(first);
  if (writer_) writer_->close(ec);
  if (first) ec = first;
  reader_.reset();
  writer_.reset();
}

void Connection::close() {
  std::error_code ec;
  close(ec);
  if (ec) throw_error(ec, "pipes::Connection::close");
}

std::pair<fd, fd> Connection::release(std::error_code& ec) noexcept {
  ec.clear();
  if (!releasable()) {
    ec = std::make_error_code(std::errc::device_or_resource_busy);
    return {};
  }
  fd read_end = reader_ ? reader_->release() : fd();
  fd write_end = writer_ ? writer_->release() : fd();
  reader_.reset();
  writer_.reset();
  return {std::move(read_end), std::move(write_end)};
}

bool Connection::releasable() const noexcept {
  return !(reader_ && reader_->holds_unread()) && !(writer_ && writer_->holds_partial_frame());
}

std::pair<fd, fd> Connection::release() {
  std::error_code ec;
  auto fds = release(ec);
  if (ec) throw_error(ec, "pipes::Connection::release: a frame is part read or part written");
  return fds;
}

// --- facts ---

std::size_t Connection::capacity() const noexcept {
  if (writer_) return writer_->capacity();
  return reader_ ? reader_->capacity() : 0;
}

bool Connection::uses_zero_copy() const noexcept { return writer_ && writer_->uses_zero_copy(); }

int Connection::read_fd() const noexcept { return reader_ ? reader_->native() : -1; }
int Connection::write_fd() const noexcept { return writer_ ? writer_->native() : -1; }

// --- factories ---

pipe_ends make_pipe(const options& opts) {
  auto [read_end, write_end] = open_pipe();
  // The writer sizes the pipe; the reader then reads the size back.
  Connection writer(fd(), std::move(write_end), opts);
  Connection reader(std::move(read_end), fd(), opts);
  return {std::move(reader), std::move(writer)};
}

std::pair<Connection, Connection> make_duplex(const options& opts) {
  auto [a_read, a_write] = open_pipe();
  auto [b_read, b_write] = open_pipe();
  Connection first(std::move(b_read), std::move(a_write), opts);
  Connection second(std::move(a_read), std::move(b_write), opts);
  return {std::move(first), std::move(second)};
}

}  // namespace pipes
