"""Connection and Pipe: pipes' tuned pipe with the interface of multiprocessing.connection."""
import operator
import os

from multiprocessing.reduction import ForkingPickler

from . import _tunedpipe, out_of_band

DEFAULT_MAX_MESSAGE_SIZE = _tunedpipe.DEFAULT_MAX_MESSAGE_SIZE


class Connection(_tunedpipe.Connection):
    """A message channel with multiprocessing.connection.Connection's calls and frames.

    `fd` is one descriptor, as CPython takes it (a pipe end, or a socket for both directions),
    or a pair (read end, write end) of two pipes, as Pipe() makes; the connection owns it.
    `oob`: send()/recv() carry pickle protocol 5 buffers out of band (see out_of_band); both
    ends must agree. Off, they send exactly what multiprocessing's Connection sends.
    `max_message_size`: the largest message sent or received; a received header never sizes an
    allocation beyond it.
    """

    def __init__(self, fd, readable=True, writable=True, *, oob=False,
                 max_message_size=DEFAULT_MAX_MESSAGE_SIZE):
        self._pair = isinstance(fd, tuple)
        if self._pair:
            read_fd, write_fd = (operator.index(end) for end in fd)
            if not (readable and writable):
                raise ValueError("a (read end, write end) pair is readable and writable")
        else:
            fd = operator.index(fd)
            if not (readable or writable):
                raise ValueError("at least one of `readable` and `writable` must be True")
            read_fd, write_fd = (fd if readable else -1), (fd if writable else -1)
        if max(read_fd, write_fd) < 0 or (self._pair and min(read_fd, write_fd) < 0):
            raise ValueError("invalid handle")
        super().__init__(read_fd, write_fd, max_message_size)
        self.oob = oob

    def descriptors(self):
        """What the connection was made from: its descriptor, or its (read end, write end)."""
        if self._pair:
            return self._descriptors()
        return self.fileno()

    def detach(self):
        """Gives up what descriptors() returns, still open; the connection is then closed.
        Refused while bytes of the next message were read ahead from the descriptor."""
        read_fd, write_fd = self._release()
        if self._pair:
            return read_fd, write_fd
        if read_fd >= 0 and write_fd >= 0:
            os.close(write_fd)  # pipes' own duplicate of a socket used both ways
        return read_fd if read_fd >= 0 else write_fd

    def send(self, obj):
        """Sends a picklable object, pickled by multiprocessing's ForkingPickler."""
        if self.oob:
            out_of_band.send(self, obj)
        else:
            self.send_bytes(ForkingPickler.dumps(obj))

    def recv(self):
        """Receives an object sent by send() (or by multiprocessing's Connection.send)."""
        if self.oob:
            return out_of_band.recv(self)
        return ForkingPickler.loads(self.recv_bytes())

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


def Pipe(duplex=True, *, oob=False, max_message_size=DEFAULT_MAX_MESSAGE_SIZE):
    """Two connected Connections, as multiprocessing.Pipe(duplex). Duplex ends use two kernel
    pipes, one per direction, where CPython uses a socketpair: pipes' levers (a pipe grown to
    pipe-max-size, vmsplice) need a pipe. Not duplex: (read-only end, write-only end)."""
    options = {"oob": oob, "max_message_size": max_message_size}
    if not duplex:
        read_fd, write_fd = os.pipe()
        return (Connection(read_fd, writable=False, **options),
                Connection(write_fd, readable=False, **options))
    first_read, second_write = os.pipe()
    second_read, first_write = os.pipe()
    return (Connection((first_read, first_write), **options),
            Connection((second_read, second_write), **options))
