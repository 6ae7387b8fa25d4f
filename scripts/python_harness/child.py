"""A child process of a pair: what it shares with the controller (its control link, the ack
pipe, the progress board), its whole life (child_main), and the fault seam the tests use."""
import argparse
import dataclasses
import functools
import mmap
import os
import signal
import time
from typing import TYPE_CHECKING, Callable, Optional

from .channels import Channel
from .errors import describe_exception
from .payload import PayloadPool
from .workloads import FOLLOWER, SIDES, Role, RoleContext

if TYPE_CHECKING:
    from .settings import Settings
    from .transports import Transport

try:
    import ctypes  # imported once here, not in every forked child
except ImportError:  # a Python built without it: children then do not die with the controller
    ctypes = None


class ProgressBoard:
    """Messages done by each side, in memory shared across fork, so that the controller can
    tell a slow run from a stalled one without touching the data path."""

    def __init__(self):
        self._map = mmap.mmap(-1, 8 * len(SIDES))  # anonymous and MAP_SHARED
        self._counts = memoryview(self._map).cast("Q")

    def setter(self, side: int) -> Callable[[int], None]:
        return functools.partial(self._counts.__setitem__, side)

    def get(self, side: int) -> int:
        return self._counts[side]

    def close(self) -> None:
        self._counts.release()
        self._map.close()


class PairLinks:
    """The side channels of one run: a control connection between the controller and each child
    (ready, go, report) and the acknowledgement pipe from the follower to the leader."""

    def __init__(self, ctx):
        self._control = [ctx.Pipe() for _ in SIDES]  # (controller's end, child's end)
        self._ack = ctx.Pipe(duplex=False)  # (leader's end, follower's end)

    def for_child(self, side: int):
        """In a child: its control end and its ack end; everything else closed."""
        for other in SIDES:
            self._control[other][0].close()
            if other != side:
                self._control[other][1].close()
        self._ack[1 - side].close()
        return self._control[side][1], self._ack[side]

    def controller_end(self, side: int):
        return self._control[side][0]

    def drop_child_ends(self) -> None:
        """In the controller once both children exist: what only they should hold."""
        for _, child_end in self._control:
            child_end.close()
        for end in self._ack:
            end.close()

    def close(self) -> None:
        for pair in self._control:
            for end in pair:
                end.close()
        for end in self._ack:
            end.close()


# Fault injection (the hidden --inject-fault flag, for the tests): the follower dies or freezes
# at a message, in every run or only in the runs of one repetition (ACTION@N:R; R counts in the
# order they ran).


@dataclasses.dataclass(frozen=True)
class Fault:
    action: str  # "die" or "stall"
    at_message: int
    repetition: Optional[int] = None  # None: every repetition

    @staticmethod
    def parse(text: str) -> "Fault":
        action, _, where = text.partition("@")
        at, _, repetition = where.partition(":")
        if (action not in ("die", "stall") or not at.isdigit()
                or not (repetition.isdigit() or repetition == "")):
            raise argparse.ArgumentTypeError("expected die@N, stall@N, die@N:R or stall@N:R")
        return Fault(action, int(at), int(repetition) if repetition else None)

    def strikes(self, repetition: int) -> bool:
        return self.repetition is None or self.repetition == repetition


class FaultyChannel(Channel):
    """Wraps the follower's channel; only ever used when a fault is asked for."""

    def __init__(self, inner: Channel, fault: Fault):
        self._inner = inner
        self._fault = fault
        self._received = 0
        self.send = inner.send
        self.release = inner.release
        self.close = inner.close
        self.pipe_capacity = inner.pipe_capacity

    def receive(self):
        if self._received == self._fault.at_message:
            if self._fault.action == "die":
                os._exit(3)
            time.sleep(3600)  # frozen, until the controller kills it
        self._received += 1
        return self._inner.receive()


def die_with_controller(controller_pid: int) -> None:
    """Asks Linux to SIGKILL this child when the controller dies, so that killing a run leaves
    no orphan behind (best effort: without ctypes the controller's own cleanup still runs)."""
    PR_SET_PDEATHSIG = 1
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):  # AttributeError also when ctypes is None
        pass
    if os.getppid() != controller_pid:  # the controller died before prctl took effect
        os._exit(1)


def pin_to_cpu(cpu: int) -> None:
    if cpu >= 0:
        os.sched_setaffinity(0, {cpu})


def child_main(side: int, role: Role, transport: "Transport", links: PairLinks,
               board: ProgressBoard, pool: PayloadPool, count: int, settings: "Settings",
               controller_pid: int) -> None:
    """The whole life of a child (forked, so its arguments are the controller's objects)."""
    control, ack = links.for_child(side)
    try:
        die_with_controller(controller_pid)
        pin_to_cpu(settings.cpus[side])
        channel = transport.open(side)
        if side == FOLLOWER and settings.fault:
            channel = FaultyChannel(channel, settings.fault)
        context = RoleContext(control, ack, board.setter(side), settings.peer_binary)
        report = role.body(channel, context, pool, count)
        report.pipe_capacity = channel.pipe_capacity()  # after the run: a C++ sender grows it
        channel.close()
        control.send(("report", report))
        exit_code = 0
    except BaseException as error:  # anything, KeyboardInterrupt included, becomes a report
        try:
            control.send(("error", f"{role.name}: {describe_exception(error)}"))
        except OSError:
            pass
        exit_code = 1
    # No finalizers: they would tear down objects that belong to the controller.
    os._exit(exit_code)
