"""A child process of a pair: what it shares with the controller (its control link, the ack
pipe, the progress board), its whole life (child_main), and the fault seam the tests use."""
import argparse
import dataclasses
import functools
import mmap
import os
import signal
import threading
import time
from typing import TYPE_CHECKING, Any, Callable, List, NoReturn, Optional

from .channels import Channel
from .errors import describe_exception
from .payload import PayloadPool
from .workloads import FOLLOWER, SIDES, Role, RoleContext, RoleReport

if TYPE_CHECKING:
    from .settings import Settings
    from .transports import Transport

try:
    import ctypes  # imported once here, not in every forked child
except ImportError:  # a Python built without it: children then do not die with the controller
    ctypes = None


class ProgressBoard:
    """Messages done by each process of a run, in memory shared across fork, so that the
    controller can tell a slow run from a stalled one without touching the data path. Slot i
    is side i of a pair (side i of pair p in slot 2p + i when several pairs run at once), or the
    hub (0) and the workers (1..W) of a worker pool, whose slots also hold when each last handled
    a message (perf_counter: CLOCK_MONOTONIC, one clock for every process), its CPU seconds, and a
    Pool worker's pid. A pair's leader slot also holds the open-loop schedule's start
    (perf_counter_ns), which its follower reads."""

    def __init__(self, slots: int = len(SIDES)):
        self.slots = slots
        self._map = mmap.mmap(-1, 8 * 5 * slots)  # anonymous and MAP_SHARED
        whole = memoryview(self._map)
        self._views = [whole] + [whole[8 * slots * i:8 * slots * (i + 1)] for i in range(5)]
        self._counts = self._views[1].cast("Q")
        self.done_at = self._views[2].cast("d")
        self.cpu_s = self._views[3].cast("d")
        self.pids = self._views[4].cast("Q")
        self.started_at = self._views[5].cast("Q")
        self._views += [self._counts, self.done_at, self.cpu_s, self.pids, self.started_at]

    def setter(self, side: int) -> Callable[[int], None]:
        return functools.partial(self._counts.__setitem__, side)

    def marker(self, slot: int) -> Callable[[int], None]:
        """A setter that also records when: for a worker pool's processes."""
        counts, done_at, clock = self._counts, self.done_at, time.perf_counter

        def mark(done: int) -> None:
            counts[slot] = done
            done_at[slot] = clock()
        return mark

    def get(self, side: int) -> int:
        return self._counts[side]

    def snapshot(self) -> List[int]:
        return self._counts.tolist()

    def close(self) -> None:
        for view in reversed(self._views):
            view.release()
        self._map.close()


class ControlLinks:
    """A control connection between the controller and each child of a run (ready, go,
    report), indexed by the child's board slot."""

    def __init__(self, ctx, children: int):
        self._control = [ctx.Pipe() for _ in range(children)]  # (controller's end, child's end)

    def control_for_child(self, slot: int):
        """In a child: its control end; every other control end closed."""
        for other, (controller_end, child_end) in enumerate(self._control):
            controller_end.close()
            if other != slot:
                child_end.close()
        return self._control[slot][1]

    def controller_end(self, slot: int):
        return self._control[slot][0]

    def drop_child_ends(self) -> None:
        """In the controller once every child exists: what only they should hold."""
        for _, child_end in self._control:
            child_end.close()

    def close(self) -> None:
        for pair in self._control:
            for end in pair:
                end.close()


class LockedConnection:
    """A child's control connection, for a child with a second thread that may report (a Pool's
    hub watching its workers): one message at a time."""

    def __init__(self, connection):
        self._connection = connection
        self._lock = threading.Lock()
        self.recv = connection.recv

    def send(self, message) -> None:
        with self._lock:
            self._connection.send(message)


class PairLinks(ControlLinks):
    """The side channels of one pair: the control connections and the acknowledgement pipe
    from the follower to the leader."""

    def __init__(self, ctx):
        super().__init__(ctx, len(SIDES))
        self._ack = ctx.Pipe(duplex=False)  # (leader's end, follower's end)

    def for_child(self, side: int):
        """In a child: its control end and its ack end; everything else closed."""
        self._ack[1 - side].close()
        return self.control_for_child(side), self._ack[side]

    def drop_child_ends(self) -> None:
        super().drop_child_ends()
        for end in self._ack:
            end.close()

    def close(self) -> None:
        super().close()
        for end in self._ack:
            end.close()


# Fault injection (the hidden --inject-fault flag, for the tests): at a message, a process dies
# (exit status 3), is killed (SIGKILL), freezes, corrupts the message it received, or pauses
# once for MS milliseconds (pause@N:MS, a receiver descheduled at a bad moment), in every run or
# only in the runs of one repetition (ACTION@N:R, pause@N:MS:R; R counts in the order they ran).
# In a pair it strikes the follower (with several pairs at once, the last pair's); in a worker
# pool the first worker, except that corrupt@N in fanin strikes the hub, which checks.

FAULT_ACTIONS = ("die", "kill", "stall", "corrupt", "pause")


@dataclasses.dataclass(frozen=True)
class Fault:
    action: str  # one of FAULT_ACTIONS
    at_message: int
    repetition: Optional[int] = None  # None: every repetition
    pause_ms: int = 0  # pause's

    @staticmethod
    def parse(text: str) -> "Fault":
        action, _, where = text.partition("@")
        fields = where.split(":")
        pause_ms = fields.pop(1) if action == "pause" and len(fields) > 1 else "0"
        if (action not in FAULT_ACTIONS or len(fields) > 2
                or not all(f.isdigit() for f in fields + [pause_ms])
                or (action == "pause") != (int(pause_ms) > 0)):
            raise argparse.ArgumentTypeError("expected ACTION@N or ACTION@N:R, ACTION one of "
                                             + ", ".join(FAULT_ACTIONS[:-1])
                                             + ", or pause@N:MS[:R]")
        repetition = int(fields[1]) if len(fields) > 1 else None
        return Fault(action, int(fields[0]), repetition, int(pause_ms))

    def strikes(self, repetition: int) -> bool:
        return self.repetition is None or self.repetition == repetition


class FaultInjector:
    """Passes messages through unchanged, except the fault's at_message-th (from 0): there the
    process dies (exit status 3), is killed by SIGKILL, freezes until the controller kills it,
    gets a copy with its last byte flipped, or sleeps pause_ms before passing it on unchanged."""

    def __init__(self, fault: Fault):
        self._fault = fault
        self._passed = 0

    def __call__(self, message: Any) -> Any:
        if self._passed == self._fault.at_message:
            if self._fault.action == "die":
                os._exit(3)
            if self._fault.action == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            if self._fault.action == "stall":
                time.sleep(3600)  # frozen, until the controller kills it
            if self._fault.action == "pause":
                time.sleep(self._fault.pause_ms / 1000)
                self._passed += 1
                return message
            corrupted = bytearray(message)
            corrupted[-1] ^= 0xFF
            message = bytes(corrupted)
        self._passed += 1
        return message


class FaultyChannel(Channel):
    """Wraps the follower's channel; only ever used when a fault is asked for."""

    def __init__(self, inner: Channel, fault: Fault):
        self._inner = inner
        self._inject = FaultInjector(fault)
        self.send = inner.send
        self.release = inner.release
        self.close = inner.close
        self.pipe_capacity = inner.pipe_capacity

    def receive(self):
        return self._inject(self._inner.receive())


def die_with_parent(parent_pid: int) -> None:
    """Asks Linux to SIGKILL this child when its parent (the controller, or the hub that made a
    Pool) dies, so that killing a run leaves no orphan behind (best effort: without ctypes the
    controller's own cleanup still runs)."""
    PR_SET_PDEATHSIG = 1
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):  # AttributeError also when ctypes is None
        pass
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)


def pin_to_cpu(cpu: int) -> None:
    if cpu >= 0:
        os.sched_setaffinity(0, {cpu})


def live(control, name: str, controller_pid: int, work: Callable[[], RoleReport]) -> NoReturn:
    """The whole life of a forked child after its links are sorted out: `work` returns its
    report, which goes to the controller; anything it raises becomes the child's error."""
    try:
        die_with_parent(controller_pid)
        report = work()
        control.send(("report", report))
        exit_code = 0
    except BaseException as error:  # anything, KeyboardInterrupt included, becomes a report
        try:
            control.send(("error", f"{name}: {describe_exception(error)}"))
        except OSError:
            pass
        exit_code = 1
    # No finalizers: they would tear down objects that belong to the controller.
    os._exit(exit_code)


def child_main(side: int, role: Role, transport: "Transport", links: PairLinks,
               board: ProgressBoard, pool: PayloadPool, count: int, settings: "Settings",
               controller_pid: int, first_slot: int = 0) -> None:
    """The life of a pair's child (forked, so its arguments are the controller's objects); the
    pair's board slots start at `first_slot` (several pairs share one board)."""
    control, ack = links.for_child(side)

    def work() -> RoleReport:
        pin_to_cpu(settings.cpus[side])
        channel = transport.open(side)
        if side == FOLLOWER and settings.fault:
            channel = FaultyChannel(channel, settings.fault)
        context = RoleContext(control, ack, board.setter(first_slot + side), settings.peer_binary,
                              board.started_at[first_slot:first_slot + 1],
                              settings.send_interval_ns)
        report = role.body(channel, context, pool, count)
        report.pipe_capacity = channel.pipe_capacity()  # after the run: a C++ sender grows it
        channel.close()
        return report

    live(control, role.name, controller_pid, work)
