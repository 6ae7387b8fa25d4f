"""send()/recv() of a Connection made with oob=True: pickle protocol 5 buffers out of band.

A buffer an object exposes to pickle (a pickle.PickleBuffer; NumPy arrays, among others, pickle
their data through one) then stays out of the pickle stream: it is sent from where it is, and
received into a new bytearray of its size, so pickling copies it neither way. The frames of one
object, each a multiprocessing frame:

  frame 0       a 4-byte big-endian count N, then the pickle stream (protocol 5)
  frames 1..N   the out-of-band buffers' bytes, in the order the stream refers to them

The message is not Python's own, so both ends must have oob on. A receiver with oob on that is
sent a plain pickle says so: a pickle starts with 0x80, which read as N is more buffers than the
stream could refer to (each reference is a byte of it).
"""
import io
import pickle

from multiprocessing.reduction import ForkingPickler

COUNT_SIZE = 4


def send(conn, obj):
    buffers = []
    stream = io.BytesIO()
    stream.write(bytes(COUNT_SIZE))  # the count's place, filled in once it is known
    pickler = pickle.Pickler(stream, 5, buffer_callback=buffers.append)
    # multiprocessing's reducers (connections, sockets...), as ForkingPickler has them: its
    # constructor cannot take a buffer_callback.
    pickler.dispatch_table = ForkingPickler(stream, 5).dispatch_table
    pickler.dump(obj)
    head = stream.getbuffer()
    head[:COUNT_SIZE] = len(buffers).to_bytes(COUNT_SIZE, "big")
    conn.send_bytes(head)
    for buffer in buffers:
        with buffer.raw() as raw:
            conn.send_bytes(raw)


def recv(conn):
    head = conn.recv_bytes()
    count = int.from_bytes(head[:COUNT_SIZE], "big")
    if len(head) < COUNT_SIZE or count > len(head) - COUNT_SIZE:
        raise OSError("not an out-of-band message: does the sender have oob on?")
    # Every buffer is received before unpickling starts, so that an object that fails to
    # unpickle leaves the connection at the next message.
    buffers = [conn._recv_bytearray() for _ in range(count)]
    return ForkingPickler.loads(memoryview(head)[COUNT_SIZE:], buffers=buffers)
