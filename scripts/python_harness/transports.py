"""The Python transports: each is made by the controller before the fork (the OS objects), then
each child opens its side (its Channel)."""
import fcntl
from typing import TYPE_CHECKING, Optional, Tuple

from .byte_sizes import size_text
from .channels import (Channel, ConnectionChannel, ObjectChannel, PipeChannel, QueueChannel,
                       SharedMemoryChannel, SharedMemoryRing)
from .errors import describe_exception
from .host import first_line
from .payload import PayloadPool
from . import tuned_module
from .workloads import LEADER, WORKLOADS, Role

if TYPE_CHECKING:
    from .settings import Settings

# Linux's fcntl command growing a pipe; the fcntl module names it from Python 3.10 on.
F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)


class Transport:
    """A way to move messages between the leader and the follower, both ways.

    __init__ runs in the controller before the fork and creates the OS objects for the pool's
    messages; open(side) runs in each child, drops what that side does not use (so that a dead
    peer reads as one) and returns its Channel; close() drops the controller's copies once both
    children exist.
    """

    id = ""
    summary = ""  # what it is, for --list

    def label(self, pipe_capacity: Optional[int]) -> str:
        """What it is and how it was configured, for the rows' `label`; `pipe_capacity` is what
        the follower's receiving pipe held (None if not a pipe, or unknown after a failure)."""
        return self.summary

    @classmethod
    def cannot_carry(cls, message_size: int) -> Optional[str]:
        """Why this transport cannot move messages of this size, or None."""
        return None

    @classmethod
    def unavailable(cls, settings: "Settings") -> Optional[str]:
        """Why this transport cannot run at all here (a program it needs is missing), or None."""
        return None

    @classmethod
    def cannot_run(cls, workload: str) -> Optional[str]:
        """Why this transport has no form for `workload`, or None."""
        return None

    @classmethod
    def roles(cls, workload: str) -> Tuple[Role, Role]:
        """What the leader and the follower run: the workload's Python roles, unless one side
        is another program (py_from_tuned_pipe)."""
        return WORKLOADS[workload]

    def __init__(self, ctx, pool: PayloadPool):
        raise NotImplementedError

    def open(self, side: int) -> Channel:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


def split_by_side(side: int, forward, back):
    """(outgoing, incoming, unused) ends for `side`, given the forward (leader to follower) and
    back links as (receiving end, sending end) pairs."""
    forward_in, forward_out = forward
    back_in, back_out = back
    if side == LEADER:
        return forward_out, back_in, (forward_in, back_out)
    return back_out, forward_in, (forward_out, back_in)


class PipeTransport(Transport):
    id = "py_pipe"
    summary = ("multiprocessing.Pipe(duplex=False): an os.pipe() per direction, "
               "send_bytes/recv_bytes")

    def __init__(self, ctx, pool: PayloadPool):
        self._forward = self.make_pipe(ctx)
        self._back = self.make_pipe(ctx)
        self.sizing = "the default"  # how the pipes got their capacity, for the label

    def make_pipe(self, ctx):
        """One direction's (receiving end, sending end)."""
        return ctx.Pipe(duplex=False)

    def label(self, pipe_capacity: Optional[int]) -> str:
        got = size_text(pipe_capacity) if pipe_capacity else "of unknown capacity"
        return f"{self.summary}; pipe {got} ({self.sizing})"

    def ends(self, side: int):
        """`side`'s (outgoing, incoming) Connections, the other side's ends closed."""
        outgoing, incoming, unused = split_by_side(side, self._forward, self._back)
        for end in unused:
            end.close()
        return outgoing, incoming

    def open(self, side: int) -> Channel:
        return PipeChannel(*self.ends(side))

    def close(self) -> None:
        for end in self._forward + self._back:
            end.close()


class BigBufferPipeTransport(PipeTransport):
    """py_pipe with both pipes grown to pipe-max-size: the one line a Python user can add. The
    kernel may refuse (EPERM past pipe-max-size or the per-user soft limit without
    CAP_SYS_RESOURCE); the run then goes on with what the pipe has, and the label says why."""

    id = "py_pipe_bigbuf"
    summary = ("multiprocessing.Pipe(duplex=False) per direction, grown with "
               "fcntl(F_SETPIPE_SZ) to pipe-max-size, send_bytes/recv_bytes")

    def __init__(self, ctx, pool: PayloadPool):
        super().__init__(ctx, pool)
        try:
            wanted = int(first_line("/proc/sys/fs/pipe-max-size"))
        except ValueError:
            self.sizing = "not grown: pipe-max-size is unreadable"
            return
        refusals = []
        for _, write_end in (self._forward, self._back):
            try:
                fcntl.fcntl(write_end.fileno(), F_SETPIPE_SZ, wanted)
            except OSError as error:
                refusals.append(describe_exception(error))
        self.sizing = f"asked {size_text(wanted)}"
        if refusals:
            self.sizing += f"; refused: {'; '.join(refusals)}"


class TunedPipeTransport(PipeTransport):
    """py_pipe's code through the project's module: tunedpipe.Pipe(duplex=False) is a
    drop-in for multiprocessing's, over the pipes library with its default options."""

    id = "py_tuned_pipe"
    summary = ("tunedpipe.Pipe(duplex=False) per direction (pipes/python: the pipes library, "
               "default options, as a Python module), send_bytes/recv_bytes")

    def __init__(self, ctx, pool: PayloadPool):
        super().__init__(ctx, pool)
        self.sizing = "pipes' default: pipe-max-size"

    @classmethod
    def unavailable(cls, settings: "Settings") -> Optional[str]:
        return tuned_module.unavailable()

    def make_pipe(self, ctx):
        return tuned_module.module().Pipe(duplex=False)


class TunedPipeOutOfBandTransport(TunedPipeTransport):
    """Objects instead of bytes: what pickling costs when large buffers go out of band."""

    id = "py_tuned_pipe_oob"
    summary = ("tunedpipe.Pipe(duplex=False, oob=True) per direction: send/recv of "
               "{'payload': PickleBuffer(message)}, the pickle in one frame and the buffer out "
               "of band in its own, received into a new bytearray")

    def make_pipe(self, ctx):
        return tuned_module.module().Pipe(duplex=False, oob=True)

    def open(self, side: int) -> Channel:
        return ObjectChannel(*self.ends(side))


class DuplexPipeTransport(Transport):
    id = "py_pipe_duplex"
    summary = "multiprocessing.Pipe(): one AF_UNIX socketpair, both directions"

    def __init__(self, ctx, pool: PayloadPool):
        self._ends = ctx.Pipe()

    def open(self, side: int) -> Channel:
        self._ends[1 - side].close()
        mine = self._ends[side]
        return ConnectionChannel(mine, mine)

    def close(self) -> None:
        for end in self._ends:
            end.close()


class QueueTransport(Transport):
    id = "py_queue"
    summary = "multiprocessing.Queue, one per direction: pickled, a feeder thread per sender"

    def __init__(self, ctx, pool: PayloadPool):
        self._queues = (ctx.Queue(), ctx.Queue())  # forward, back

    def open(self, side: int) -> Channel:
        # A Queue carries both of its pipe's ends in every process; there is nothing to drop.
        return QueueChannel(outgoing=self._queues[side], incoming=self._queues[1 - side])

    def close(self) -> None:
        for queue in self._queues:
            queue.close()


class SharedMemoryTransport(Transport):
    id = "py_shared_memory"
    summary = "multiprocessing.shared_memory.SharedMemory ring per direction, Semaphores"

    def __init__(self, ctx, pool: PayloadPool):
        self._rings = (SharedMemoryRing(ctx, pool.message_size),
                       SharedMemoryRing(ctx, pool.message_size))

    def open(self, side: int) -> Channel:
        return SharedMemoryChannel(outgoing=self._rings[side], incoming=self._rings[1 - side])

    def close(self) -> None:
        for ring in self._rings:
            ring.close()
