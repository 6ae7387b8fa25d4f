"""send()/recv(): the pickles of Python's Connection by default, both ways with it; with oob on,
buffers out of band, in the frames out_of_band.py describes."""
import multiprocessing.connection
import os
import pickle
import unittest

import tunedpipe
from support import in_thread, payload

try:
    import numpy
except ImportError:
    numpy = None

OBJECTS = [None, 0, "text", [1, 2.5, {"nested": (b"bytes",)}], payload(1 << 20)]


def fail_to_unpickle():
    raise RuntimeError("refusing to unpickle")


class Unpicklable:
    def __reduce__(self):
        return fail_to_unpickle, ()


class ByDefault(unittest.TestCase):
    def test_objects_go_both_ways_with_pythons_connection(self):
        for tuned_sends in (True, False):
            read_fd, write_fd = os.pipe()
            sender_type, receiver_type = ((tunedpipe.Connection,
                                           multiprocessing.connection.Connection)
                                          [::1 if tuned_sends else -1])
            with sender_type(write_fd, readable=False) as sender, \
                    receiver_type(read_fd, writable=False) as receiver:
                sent = in_thread(lambda: [sender.send(obj) for obj in OBJECTS])
                self.assertEqual([receiver.recv() for _ in OBJECTS], OBJECTS)
                sent.result()


class OutOfBand(unittest.TestCase):
    def setUp(self):
        self.a, self.b = tunedpipe.Pipe(oob=True)
        self.addCleanup(self.a.close)
        self.addCleanup(self.b.close)

    def round_trip(self, obj):
        sent = in_thread(self.a.send, obj)
        received = self.b.recv()
        sent.result()
        return received

    def test_buffers_of_every_size_arrive_as_new_bytearrays(self):
        for size in (0, 1, 4097, 1 << 20, 64 << 20):
            received = self.round_trip({"size": size, "data": pickle.PickleBuffer(
                bytearray(payload(size)))})
            self.assertEqual(received["size"], size)
            self.assertIsInstance(received["data"], bytearray)
            self.assertEqual(received["data"], payload(size))

    def test_a_read_only_buffer_comes_back_read_only(self):
        received = self.round_trip(pickle.PickleBuffer(payload(100)))
        self.assertTrue(memoryview(received).readonly)
        self.assertEqual(bytes(received), payload(100))

    @unittest.skipIf(numpy is None, "numpy is not installed")
    def test_numpy_arrays_in_either_order_arrive_equal_and_writable(self):
        arrays = [numpy.arange(1 << 18, dtype=numpy.float64).reshape(512, 512),
                  numpy.asfortranarray(numpy.arange(1 << 16, dtype=numpy.int32).reshape(256, 256))]
        received = self.round_trip(arrays)
        for got, sent in zip(received, arrays):
            numpy.testing.assert_array_equal(got, sent)
            self.assertEqual(got.flags.f_contiguous, sent.flags.f_contiguous)
            self.assertTrue(got.flags.writeable)

    def test_the_frames_are_count_and_pickle_then_each_buffer(self):
        first, second = bytearray(b"first buffer"), bytearray(b"second")
        reader, writer = tunedpipe.Pipe(duplex=False, oob=True)
        with writer, multiprocessing.connection.Connection(reader.detach(),
                                                           writable=False) as python:
            writer.send([pickle.PickleBuffer(first), pickle.PickleBuffer(second)])
            head = python.recv_bytes()
            self.assertEqual(head[:4], (2).to_bytes(4, "big"))
            self.assertEqual(python.recv_bytes(), first)
            self.assertEqual(python.recv_bytes(), second)
            self.assertEqual(pickle.loads(head[4:], buffers=[first, second]), [first, second])

    def test_ends_that_disagree_say_so(self):
        for oob_sends in (False, True):
            read_fd, write_fd = os.pipe()
            with tunedpipe.Connection(write_fd, readable=False, oob=oob_sends) as writer, \
                    tunedpipe.Connection(read_fd, writable=False, oob=not oob_sends) as reader:
                if oob_sends:
                    writer.send([pickle.PickleBuffer(b"out of band")])
                    with self.assertRaises(pickle.UnpicklingError):
                        reader.recv()
                else:
                    writer.send([1, 2, 3])
                    with self.assertRaisesRegex(OSError, "not an out-of-band message"):
                        reader.recv()

    def test_an_object_that_fails_to_unpickle_leaves_the_next_one_readable(self):
        self.a.send([pickle.PickleBuffer(b"a buffer"), Unpicklable()])
        self.a.send("next")
        with self.assertRaisesRegex(RuntimeError, "refusing"):
            self.b.recv()
        self.assertEqual(self.b.recv(), "next")


if __name__ == "__main__":
    unittest.main()
