"""The bytes-level calls, as multiprocessing.connection.Connection's: every size, any buffer,
CPython's checks and exceptions, end of file, and malformed frames from a raw writer."""
import array
import errno
import multiprocessing
import os
import unittest

import tunedpipe
from support import SIZES, in_thread, payload


class EverySize(unittest.TestCase):
    def test_every_size_arrives_intact_both_ways(self):
        a, b = tunedpipe.Pipe()
        with a, b:
            for sender, receiver in ((a, b), (b, a)):
                sent = in_thread(lambda: [sender.send_bytes(payload(n)) for n in SIZES])
                for size in SIZES:
                    self.assertEqual(receiver.recv_bytes(), payload(size), f"{size} bytes")
                sent.result()

    def test_one_way_pipe_is_reader_then_writer(self):
        reader, writer = tunedpipe.Pipe(duplex=False)
        with reader, writer:
            self.assertEqual((reader.readable, reader.writable), (True, False))
            self.assertEqual((writer.readable, writer.writable), (False, True))
            with self.assertRaisesRegex(OSError, "read-only"):
                reader.send_bytes(b"x")
            with self.assertRaisesRegex(OSError, "write-only"):
                writer.recv_bytes()
            writer.send_bytes(b"one way")
            self.assertEqual(reader.recv_bytes(), b"one way")


class Buffers(unittest.TestCase):
    def setUp(self):
        self.a, self.b = tunedpipe.Pipe()
        self.addCleanup(self.a.close)
        self.addCleanup(self.b.close)

    def test_send_bytes_takes_any_buffer(self):
        numbers = array.array("d", [1.5, -2.25, 3e300])
        for buffer in (b"bytes", bytearray(b"bytearray"), memoryview(b"0123456789")[2:7],
                       numbers):
            self.a.send_bytes(buffer)
            self.assertEqual(self.b.recv_bytes(), bytes(buffer))

    def test_offset_and_size_count_bytes_as_in_cpython(self):
        numbers = array.array("i", range(4))  # 16 bytes
        self.a.send_bytes(numbers, 4, 8)
        self.assertEqual(self.b.recv_bytes(), numbers.tobytes()[4:12])
        self.a.send_bytes(b"abcdef", 6)
        self.assertEqual(self.b.recv_bytes(), b"")
        for offset, size, message in ((-1, None, "offset is negative"),
                                      (7, None, "buffer length < offset"),
                                      (0, -1, "size is negative"),
                                      (2, 5, r"buffer length < offset \+ size")):
            with self.assertRaisesRegex(ValueError, message):
                self.a.send_bytes(b"abcdef", offset, size)
        with self.assertRaises(TypeError):
            self.a.send_bytes("text is not a buffer")

    def test_recv_bytes_into_fills_from_offset_and_returns_bytes_received(self):
        target = array.array("i", [0] * 4)
        self.a.send_bytes(b"\x01\x00\x00\x00\x02\x00\x00\x00")
        self.assertEqual(self.b.recv_bytes_into(target, 4), 8)
        self.assertEqual(target.tolist(), [0, 1, 2, 0])
        with self.assertRaisesRegex(ValueError, "negative offset"):
            self.b.recv_bytes_into(target, -1)
        with self.assertRaisesRegex(ValueError, "offset too large"):
            self.b.recv_bytes_into(target, 17)
        with self.assertRaises(BufferError):  # before receiving (CPython loses the message)
            self.b.recv_bytes_into(b"read-only")

    def test_a_short_buffer_raises_buffer_too_short_carrying_the_message(self):
        for size in (11, 1 << 20):  # through the scratch buffer, and straight into bytes
            sent = in_thread(lambda: [self.a.send_bytes(payload(size)),
                                      self.a.send_bytes(b"next")])
            with self.assertRaises(multiprocessing.BufferTooShort) as caught:
                self.b.recv_bytes_into(bytearray(10))
            self.assertEqual(caught.exception.args[0], payload(size))
            self.assertEqual(self.b.recv_bytes(), b"next")
            sent.result()

    def test_maxlength_refuses_a_longer_message_and_leaves_it_readable(self):
        self.a.send_bytes(b"0123456789")
        with self.assertRaisesRegex(OSError, "bad message length"):
            self.b.recv_bytes(9)
        self.assertEqual(self.b.recv_bytes(10), b"0123456789")
        with self.assertRaisesRegex(ValueError, "negative maxlength"):
            self.b.recv_bytes(-1)

    def test_poll_says_whether_a_message_is_there(self):
        self.assertFalse(self.b.poll())
        self.assertFalse(self.b.poll(0.01))
        sent = in_thread(self.a.send_bytes, b"later")
        self.assertTrue(self.b.poll(None))
        self.assertEqual(self.b.recv_bytes(), b"later")
        sent.result()


class EndOfFile(unittest.TestCase):
    def test_closing_either_end_is_eof_at_the_other(self):
        for closing in (0, 1):
            ends = tunedpipe.Pipe()
            other = ends[1 - closing]
            ends[closing].send_bytes(b"last")
            ends[closing].close()
            self.assertEqual(other.recv_bytes(), b"last")
            with self.assertRaises(EOFError):
                other.recv_bytes()
            self.assertTrue(other.poll(), "end of file is something to receive")
            with self.assertRaises(BrokenPipeError):
                other.send_bytes(b"to no one")
            other.close()

    def test_a_closed_connection_refuses_every_call(self):
        a, b = tunedpipe.Pipe()
        with a:
            self.assertFalse(a.closed)
        self.assertTrue(a.closed)
        a.close()  # again: nothing happens
        for call in (a.fileno, a.recv_bytes, a.poll, lambda: a.send_bytes(b"")):
            with self.assertRaisesRegex(OSError, "handle is closed"):
                call()
        b.close()

    def test_detach_gives_up_the_descriptors_open(self):
        reader, writer = tunedpipe.Pipe(duplex=False)
        a, b = tunedpipe.Pipe()
        fds = [reader.detach(), writer.detach(), *a.detach(), *b.detach()]
        self.assertTrue(reader.closed and a.closed)
        os.write(fds[1], b"\0\0\0\2hi")
        self.assertEqual(os.read(fds[0], 6), b"\0\0\0\2hi")
        for fd in fds:
            os.close(fd)


class MalformedFrames(unittest.TestCase):
    """Frames written with os.write, as a buggy or hostile peer could."""

    def received(self, wire: bytes, **options):
        read_fd, write_fd = os.pipe()
        os.write(write_fd, wire)
        os.close(write_fd)
        with tunedpipe.Connection(read_fd, writable=False, **options) as reader:
            return reader.recv_bytes()

    def test_a_negative_length_is_a_protocol_error(self):
        with self.assertRaises(OSError) as caught:
            self.received(b"\xff\xff\xff\xfe")
        self.assertEqual(caught.exception.errno, errno.EPROTO)

    def test_a_length_over_max_message_size_is_refused_before_any_allocation(self):
        with self.assertRaises(OSError) as caught:
            self.received(b"\x7f\xff\xff\xff", max_message_size=1 << 20)
        self.assertEqual(caught.exception.errno, errno.EMSGSIZE)

    def test_a_truncated_message_is_end_of_file_during_message(self):
        with self.assertRaisesRegex(OSError, "end of file during message"):
            self.received(b"\0\0\0\x64" + b"ten bytes!")
        with self.assertRaisesRegex(OSError, "end of file during message"):
            self.received(b"\0\0")

    def test_the_long_header_is_accepted_for_any_length(self):
        self.assertEqual(self.received(b"\xff\xff\xff\xff" + (5).to_bytes(8, "big") + b"hello"),
                         b"hello")


if __name__ == "__main__":
    unittest.main()
