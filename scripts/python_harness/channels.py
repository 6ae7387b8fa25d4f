"""Channels: what each side sends and receives through once its transport is open. The
workloads see only this interface; each transport hands each side one."""
import fcntl
import pickle
from multiprocessing import shared_memory
from typing import Optional

# Linux's fcntl command reading a pipe's capacity; the fcntl module names it from Python 3.10 on.
F_GETPIPE_SZ = getattr(fcntl, "F_GETPIPE_SZ", 1032)


class Channel:
    """One side's end of a transport: sends to the peer and receives from it."""

    def send(self, message) -> None:
        raise NotImplementedError

    def receive(self):
        """The next message, as bytes or a buffer valid until release()."""
        raise NotImplementedError

    def release(self) -> None:
        """Done with the last received message (a shared-memory slot may be reused)."""

    def close(self) -> None:
        """Flushes what this side sent and closes its ends."""

    def pipe_capacity(self) -> Optional[int]:
        """Bytes the pipe this side receives from can hold, if it is a pipe."""
        return None


class ConnectionChannel(Channel):
    """multiprocessing Connections: send_bytes and recv_bytes, the way Python code uses them."""

    def __init__(self, outgoing, incoming):
        self._outgoing = outgoing
        self._incoming = incoming
        self.send = outgoing.send_bytes  # bound directly: no extra call per message
        self.receive = incoming.recv_bytes

    def close(self) -> None:
        self._outgoing.close()
        self._incoming.close()


class PipeChannel(ConnectionChannel):
    """ConnectionChannel over os.pipe()s, which can say how much their pipe holds."""

    def pipe_capacity(self) -> Optional[int]:
        return fcntl.fcntl(self._incoming.fileno(), F_GETPIPE_SZ)


class ObjectChannel(PipeChannel):
    """send()/recv() of an object holding the message: {"payload": PickleBuffer(message)}, as
    a program sends a dict with an array in it. Over tunedpipe with oob on, the buffer goes out
    of band (sent from the pool, received into a new bytearray), the rest is pickled."""

    def __init__(self, outgoing, incoming):
        super().__init__(outgoing, incoming)
        self.send = self._send_object
        self.receive = self._receive_object

    def _send_object(self, message) -> None:
        self._outgoing.send({"payload": pickle.PickleBuffer(message)})

    def _receive_object(self):
        return self._incoming.recv()["payload"]


class QueueChannel(Channel):
    """multiprocessing.Queue: put() pickles the object and a feeder thread writes it to a pipe."""

    def __init__(self, outgoing, incoming):
        self._outgoing = outgoing
        self.receive = incoming.get

    def send(self, message) -> None:
        # A memoryview cannot be pickled, so the sender passes bytes, as Python code would; for
        # an echo of received bytes, bytes() returns the same object (no copy).
        self._outgoing.put(bytes(message))

    def close(self) -> None:
        # The feeder thread may still hold the last message: wait until it is in the pipe.
        self._outgoing.close()
        self._outgoing.join_thread()


class SharedMemoryRing:
    """One direction of py_shared_memory: message-sized slots in a SharedMemory segment, a
    semaphore counting free slots and one counting filled slots.

    The ring holds about what a default pipe buffers (64 KiB), and at least two slots so that
    the sender fills one while the receiver checks the other: small messages then stream
    without a wake-up each, as they do through a pipe. The segment is unlinked as soon as it
    exists: the children inherit the mapping through fork, so no name is left to leak, whatever
    kills whom. Each process has its own copy of this object, and so its own cursor, and uses a
    ring either to put or to get, never both.
    """

    RING_BYTES = 64 << 10
    MIN_SLOTS = 2

    def __init__(self, ctx, message_size: int):
        self._size = message_size
        self._slots = max(self.MIN_SLOTS, self.RING_BYTES // max(message_size, 1))
        self._segment = shared_memory.SharedMemory(create=True,
                                                   size=max(1, self._slots * message_size))
        self._segment.unlink()
        self._free = ctx.Semaphore(self._slots)
        self._filled = ctx.Semaphore(0)
        self._cursor = 0

    def _slot(self) -> memoryview:
        offset = (self._cursor % self._slots) * self._size
        return self._segment.buf[offset:offset + self._size]

    def put(self, message) -> None:
        self._free.acquire()
        self._slot()[:] = message
        self._cursor += 1
        self._filled.release()

    def get(self) -> memoryview:
        """A view of the next filled slot, to be checked in place; done() hands it back."""
        self._filled.acquire()
        return self._slot()

    def done(self) -> None:
        self._cursor += 1
        self._free.release()

    def close(self) -> None:
        """The controller's mapping (the children's go when they exit)."""
        self._segment.close()


class SharedMemoryChannel(Channel):
    def __init__(self, outgoing: SharedMemoryRing, incoming: SharedMemoryRing):
        self.send = outgoing.put
        self.receive = incoming.get
        self.release = incoming.done
