// _tunedpipe: a pipes::Connection as a Python object with the bytes-level calls of
// multiprocessing.connection.Connection (send_bytes, recv_bytes, recv_bytes_into, poll, close),
// raising what CPython's raise. The package tunedpipe (tunedpipe/) builds the rest on it:
// descriptors as CPython takes them, pickling, passing to another process, Pipe().
//
// Every call that can block releases the GIL. Buffers are held through the buffer protocol for
// the whole call (an exporter such as bytearray refuses to resize meanwhile), so no Python
// object is touched while the GIL is released, and nothing is copied on the way in.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <exception>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <tuple>
#include <vector>

#include "pipes/connection.hpp"
#include "pipes/error.hpp"

namespace py = pybind11;

namespace {

using namespace std::chrono_literals;

std::chrono::steady_clock::time_point clock_now() { return std::chrono::steady_clock::now(); }

// Raises OSError(code, message); Python picks the subclass from the errno (EPIPE makes
// BrokenPipeError), as for its own system calls.
[[noreturn]] void raise_os_error(int code, const std::string& message) {
  PyErr_SetObject(PyExc_OSError, py::make_tuple(code, message).ptr());
  throw py::error_already_set();
}

// Raises OSError(message) without an errno, as CPython's connection does for its own checks.
[[noreturn]] void raise_os_error(const char* message) {
  PyErr_SetString(PyExc_OSError, message);
  throw py::error_already_set();
}

enum class side { send, receive };

// Raises what CPython's Connection raises for the same event: EOFError at end of file between
// messages, BrokenPipeError on a send to a closed reader, OSError with its errno otherwise.
[[noreturn]] void raise_error(const std::error_code& ec, side where) {
  if (ec.category() != pipes::category()) raise_os_error(ec.value(), ec.message());
  switch (static_cast<pipes::errc>(ec.value())) {
    case pipes::errc::peer_closed:
      if (where == side::receive) {
        PyErr_SetNone(PyExc_EOFError);
        throw py::error_already_set();
      }
      raise_os_error(EPIPE, "the reader has closed the connection");
    case pipes::errc::peer_closed_mid_message:
      raise_os_error("got end of file during message");  // CPython's words
    case pipes::errc::message_too_large:
      raise_os_error(EMSGSIZE, "bad message length: over this connection's max_message_size");
    case pipes::errc::malformed_header:
      raise_os_error(EPROTO, "malformed message header: not a multiprocessing frame");
    default:
      raise_os_error(EIO, ec.message());
  }
}

// A contiguous view of a Python buffer, held until destroyed (with the GIL).
class held_buffer {
 public:
  held_buffer(py::handle object, bool writable) {
    if (PyObject_GetBuffer(object.ptr(), &view_, writable ? PyBUF_WRITABLE : PyBUF_SIMPLE) != 0) {
      throw py::error_already_set();
    }
  }
  held_buffer(const held_buffer&) = delete;
  held_buffer& operator=(const held_buffer&) = delete;
  ~held_buffer() { PyBuffer_Release(&view_); }

  Py_ssize_t size() const noexcept { return view_.len; }
  std::byte* data() const noexcept { return static_cast<std::byte*>(view_.buf); }

 private:
  Py_buffer view_{};
};

// Marks one direction busy from before the GIL is released until after it is taken back, so
// that another thread cannot use that direction or close the connection meanwhile: pipes allows
// one sender and one receiver at a time, and nothing while closing. Only touched with the GIL.
class busy_guard {
 public:
  explicit busy_guard(bool& busy) : busy_(busy) {
    if (busy_) raise_os_error(EBUSY, "another thread is using this connection's direction");
    busy_ = true;
  }
  busy_guard(const busy_guard&) = delete;
  busy_guard& operator=(const busy_guard&) = delete;
  ~busy_guard() { busy_ = false; }

 private:
  bool& busy_;
};

// Owns a new reference from the C API, or raises the error it set (a MemoryError).
py::object steal(PyObject* created) {
  if (created == nullptr) throw py::error_already_set();
  return py::reinterpret_steal<py::object>(created);
}

// How a received message becomes a new Python object of its exact length.
struct new_bytes {
  static PyObject* make(const char* data, Py_ssize_t n) {
    return PyBytes_FromStringAndSize(data, n);
  }
  static char* data(PyObject* object) { return PyBytes_AS_STRING(object); }
};
struct new_bytearray {
  static PyObject* make(const char* data, Py_ssize_t n) {
    return PyByteArray_FromStringAndSize(data, n);
  }
  static char* data(PyObject* object) { return PyByteArray_AS_STRING(object); }
};

class connection {
 public:
  connection(int read_fd, int write_fd, std::size_t max_message_size)
      : conn_(pipes::Connection::adopt(read_fd, write_fd, options(max_message_size))),
        readable_(read_fd >= 0),
        writable_(write_fd >= 0) {}

  bool closed() const noexcept { return closed_; }
  bool readable() const noexcept { return readable_; }
  bool writable() const noexcept { return writable_; }
  std::size_t max_message_size() const noexcept { return conn_.opts().max_message_size; }

  int fileno() const {
    check_open();
    return readable_ ? conn_.read_fd() : conn_.write_fd();
  }

  void send_bytes(py::handle buffer, Py_ssize_t offset, std::optional<Py_ssize_t> size) {
    check_open();
    if (!writable_) raise_os_error("connection is read-only");
    const held_buffer held(buffer, false);
    // CPython's checks and words.
    if (offset < 0) throw py::value_error("offset is negative");
    if (held.size() < offset) throw py::value_error("buffer length < offset");
    if (!size) {
      size = held.size() - offset;
    } else if (*size < 0) {
      throw py::value_error("size is negative");
    } else if (offset + *size > held.size()) {
      throw py::value_error("buffer length < offset + size");
    }
    const busy_guard busy(sending_);
    std::error_code ec;
    {
      const py::gil_scoped_release unlocked;
      conn_.send_bytes({held.data() + offset, static_cast<std::size_t>(*size)}, ec);
    }
    if (ec) raise_error(ec, side::send);
  }

  py::bytes recv_bytes(std::optional<Py_ssize_t> maxlength) {
    check_receivable();
    if (maxlength && *maxlength < 0) throw py::value_error("negative maxlength");
    return py::reinterpret_steal<py::bytes>(receive_new<new_bytes>(maxlength).release());
  }

  py::bytearray recv_bytearray() {
    check_receivable();
    return py::reinterpret_steal<py::bytearray>(receive_new<new_bytearray>(std::nullopt).release());
  }

  // Returns the message's size. A message longer than the buffer from `offset` is received
  // whole and raised as multiprocessing.BufferTooShort carrying it, as CPython does.
  std::size_t recv_bytes_into(py::handle buffer, Py_ssize_t offset) {
    check_receivable();
    const held_buffer held(buffer, true);
    if (offset < 0) throw py::value_error("negative offset");
    if (offset > held.size()) throw py::value_error("offset too large");
    const busy_guard busy(receiving_);
    std::error_code ec;
    std::size_t size = 0;
    {
      const py::gil_scoped_release unlocked;
      wait_for_message(std::nullopt);
      size = conn_.recv_bytes_into(
          {held.data() + offset, static_cast<std::size_t>(held.size() - offset)}, ec);
    }
    if (ec == pipes::errc::buffer_too_short) {
      py::object message = receive_exactly<new_bytes>(size);
      PyErr_SetObject(py::module_::import("multiprocessing").attr("BufferTooShort").ptr(),
                      py::make_tuple(message).ptr());
      throw py::error_already_set();
    }
    if (ec) raise_error(ec, side::receive);
    return size;
  }

  // `timeout` in seconds; None (or more than a lifetime) waits forever.
  bool poll(std::optional<double> timeout) {
    check_receivable();
    const busy_guard busy(receiving_);
    const py::gil_scoped_release unlocked;
    if (!timeout || *timeout > 1e9) return wait_for_message(std::nullopt);
    return wait_for_message(std::chrono::duration_cast<std::chrono::nanoseconds>(
        std::chrono::duration<double>(std::max(*timeout, 0.0))));
  }

  void close() {
    if (closed_) return;
    check_idle();
    closed_ = true;
    std::error_code ec;
    conn_.close(ec);
    if (ec) raise_os_error(ec.value(), ec.message());
  }

  // (read end, write end), -1 for a missing one; on one socket, the write end is pipes' own
  // duplicate of it.
  std::pair<int, int> descriptors() const {
    check_open();
    return {conn_.read_fd(), conn_.write_fd()};
  }

  // Whether _release() would succeed: nothing read ahead, nothing part sent.
  bool releasable() const {
    check_open();
    return conn_.releasable();
  }

  // Gives up both descriptors, still open: (read end, write end), -1 for a missing one.
  std::pair<int, int> release() {
    check_open();
    check_idle();
    std::error_code ec;
    auto [read_end, write_end] = conn_.release(ec);
    if (ec) {
      raise_os_error(ec.value(),
                     "cannot detach: bytes of the next message were read ahead "
                     "from the descriptor, and would be lost");
    }
    closed_ = true;
    return {read_end.release(), write_end.release()};
  }

 private:
  static pipes::options options(std::size_t max_message_size) {
    pipes::options opts;
    opts.max_message_size = max_message_size;
    return opts;
  }

  void check_open() const {
    if (closed_) raise_os_error("handle is closed");
  }
  void check_receivable() const {
    check_open();
    if (!readable_) raise_os_error("connection is write-only");
  }
  void check_idle() const {
    if (sending_ || receiving_) {
      raise_os_error(EBUSY, "another thread is sending or receiving on this connection");
    }
  }

  // Waits, with the GIL released, until a message (or end of file, or an error) is there to
  // receive, or `timeout` passes (nullopt: forever); false on timeout. pipes retries EINTR,
  // so a long wait is cut into slices, and Python's signal handlers run between them: Ctrl-C
  // interrupts a blocked recv as it does CPython's.
  bool wait_for_message(std::optional<std::chrono::nanoseconds> timeout) {
    constexpr std::chrono::nanoseconds slice = 50ms;
    const auto deadline = clock_now() + timeout.value_or(0ns);
    for (;;) {
      auto step = slice;
      if (timeout) step = std::clamp<std::chrono::nanoseconds>(deadline - clock_now(), 0ns, slice);
      std::error_code ec;
      if (conn_.poll(step, ec) || ec) return true;  // an error is the receive's to report
      if (timeout && clock_now() >= deadline) return false;
      const py::gil_scoped_acquire locked;
      if (PyErr_CheckSignals() != 0) throw py::error_already_set();
    }
  }

  // Receives the next message into a new object of its exact length: up to the scratch
  // buffer's size through that buffer (copying a few KiB costs less than a second trip through
  // the library), larger ones straight into the object. The size that allocates it has been
  // checked by pipes against max_message_size. Over `maxlength`, raises CPython's OSError and
  // leaves the message to be received (CPython cannot; its stream is lost).
  template <class Object>
  py::object receive_new(std::optional<Py_ssize_t> maxlength) {
    const busy_guard busy(receiving_);
    std::size_t limit = scratch_.size();
    if (maxlength) limit = std::min(limit, static_cast<std::size_t>(*maxlength));
    std::error_code ec;
    std::size_t size = 0;
    {
      const py::gil_scoped_release unlocked;
      wait_for_message(std::nullopt);
      size = conn_.recv_bytes_into({scratch_.data(), limit}, ec);
    }
    if (!ec) return steal(Object::make(reinterpret_cast<const char*>(scratch_.data()), size));
    if (ec != pipes::errc::buffer_too_short) raise_error(ec, side::receive);
    if (maxlength && size > static_cast<std::size_t>(*maxlength)) {
      raise_os_error("bad message length");
    }
    return receive_exactly<Object>(size);
  }

  // Receives the pending message, of `size` bytes, into a new object allocated at that size.
  template <class Object>
  py::object receive_exactly(std::size_t size) {
    py::object object = steal(Object::make(nullptr, static_cast<Py_ssize_t>(size)));
    std::error_code ec;
    {
      const py::gil_scoped_release unlocked;
      conn_.recv_bytes_into({reinterpret_cast<std::byte*>(Object::data(object.ptr())), size}, ec);
    }
    if (ec) raise_error(ec, side::receive);
    return object;
  }

  pipes::Connection conn_;
  bool readable_;
  bool writable_;
  bool closed_ = false;
  bool sending_ = false;
  bool receiving_ = false;
  std::vector<std::byte> scratch_ = std::vector<std::byte>(4096);
};

}  // namespace

PYBIND11_MODULE(_tunedpipe, m) {
  m.doc() =
      "pipes::Connection with the bytes-level calls of multiprocessing's Connection; "
      "use the package tunedpipe, which builds on it.";
  m.attr("DEFAULT_MAX_MESSAGE_SIZE") = pipes::options{}.max_message_size;
  // What a throwing pipes call raises (the constructor's system calls): OSError with its errno.
  py::register_exception_translator([](std::exception_ptr thrown) {
    try {
      if (thrown) std::rethrow_exception(thrown);
    } catch (const std::system_error& e) {
      PyErr_SetObject(PyExc_OSError, py::make_tuple(e.code().value(), e.what()).ptr());
    }
  });

  py::class_<connection>(m, "Connection")
      .def(py::init<int, int, std::size_t>(), py::arg("read_fd"), py::arg("write_fd"),
           py::arg("max_message_size"),
           "Takes ownership of the descriptors (-1 for a missing direction; one descriptor "
           "for both directions is a socket).")
      .def_property_readonly("closed", &connection::closed)
      .def_property_readonly("readable", &connection::readable)
      .def_property_readonly("writable", &connection::writable)
      .def_property_readonly("max_message_size", &connection::max_message_size)
      .def("fileno", &connection::fileno, "The descriptor to wait on: the read end, if any.")
      .def("send_bytes", &connection::send_bytes, py::arg("buf"), py::arg("offset") = 0,
           py::arg("size") = py::none(), "Sends bytes from any buffer as one message.")
      .def("recv_bytes", &connection::recv_bytes, py::arg("maxlength") = py::none(),
           "Receives one message as bytes.")
      .def("recv_bytes_into", &connection::recv_bytes_into, py::arg("buf"), py::arg("offset") = 0,
           "Receives one message into a writable buffer; its size.")
      .def("_recv_bytearray", &connection::recv_bytearray,
           "Receives one message into a new bytearray of its size.")
      .def("poll", &connection::poll, py::arg("timeout") = 0.0,
           "Whether a message is there to receive within timeout seconds (None: forever).")
      .def("close", &connection::close)
      .def("_descriptors", &connection::descriptors, "(read end, write end), -1 for a missing one.")
      .def("_releasable", &connection::releasable,
           "Whether the descriptors hold the whole stream: nothing read ahead or part sent.")
      .def("_release", &connection::release,
           "Gives up the descriptors, open: (read end, write end), -1 for a missing one.");
}
