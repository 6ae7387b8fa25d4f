"""The workloads: what each side of a pair does (as harness/src/workloads.cpp). Throughput: the
sender's clock stops on the receiver's acknowledgement of the last message. Latency: a ping-pong
in which the pinger records every round trip. Openloop: the sender sends message i at its
intended time, start + i x interval, whether or not the receiver keeps up, and the receiver
records how long after that time it had checked it, so that a stall shows in every message that
waited behind it instead of slowing the sender ("coordinated omission"). Pairs: throughput's
roles in several pairs at once (supervision.run_pairs). Every received message is checked."""
import array
import dataclasses
import resource
import time
from typing import Callable, Dict, Optional, Tuple

from .channels import Channel
from .payload import PayloadPool
from .stats import summarise

# The sender or pinger, and the receiver or echoer: indices into per-side tables.
LEADER, FOLLOWER = 0, 1
SIDES = (LEADER, FOLLOWER)

THROUGHPUT, LATENCY, OPENLOOP, PAIRS = "throughput", "latency", "openloop", "pairs"
DEFAULT_WORKLOADS = (THROUGHPUT, LATENCY)  # the others run only when named, as in pipebench


@dataclasses.dataclass
class RoleReport:
    elapsed_s: float = 0.0
    cpu_s: float = 0.0
    messages_checked: int = 0
    bytes_checked: int = 0
    latency: Optional[Dict[str, float]] = None
    pipe_capacity: Optional[int] = None  # of the pipe this side received from, if a pipe
    started_s: float = 0.0  # a worker pool's hub: perf_counter when its clock started
    seen: Optional[bytes] = None  # a fanout worker: seen[seq] is 1 for each message it checked


class RoleContext:
    """What a role body needs besides its channel: the start signal, progress, the ack."""

    def __init__(self, control, ack, progress: Callable[[int], None], peer_binary: str = "",
                 start_cell=None, send_interval_ns: int = 0):
        self._control = control
        self._ack = ack
        self.progress = progress
        self.peer_binary = peer_binary  # for a leader that is another program
        self._start_cell = start_cell  # a pair's shared word (ProgressBoard.started_at)
        self.send_interval_ns = send_interval_ns  # openloop's

    def announce_start(self, start_ns: int) -> None:
        """The leader: the open-loop schedule's start, for the follower (before message 0)."""
        self._start_cell[0] = start_ns

    def announced_start(self) -> int:
        """The follower, once it has message 0: the start the leader announced before it."""
        return self._start_cell[0]

    def ready(self) -> None:
        """Says this side is prepared, and waits for the controller's go."""
        self._control.send(("ready",))
        if self._control.recv() != "go":
            raise RuntimeError("the controller sent something other than go")

    def send_ack(self, messages: int) -> None:
        self._ack.send_bytes(messages.to_bytes(8, "little"))

    def receive_ack(self) -> int:
        return int.from_bytes(self._ack.recv_bytes(), "little")

    def ack_fd(self) -> int:
        """The ack pipe's descriptor, for a leader that is another program."""
        return self._ack.fileno()


def cpu_seconds() -> float:
    """User + system CPU of this process, all its threads (a Queue's feeder thread included)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def throughput_sender(channel: Channel, context: RoleContext, pool: PayloadPool,
                      count: int) -> RoleReport:
    send, message, progress = channel.send, pool.message, context.progress
    pool.prefault()
    context.ready()
    cpu_start = cpu_seconds()
    start = time.perf_counter()
    for seq in range(count):
        send(message(seq))
        progress(seq + 1)
    acknowledged = context.receive_ack()
    elapsed = time.perf_counter() - start
    cpu = cpu_seconds() - cpu_start
    if acknowledged != count:
        raise RuntimeError(f"the receiver acknowledged {acknowledged} of {count} messages")
    return RoleReport(elapsed_s=elapsed, cpu_s=cpu)


def throughput_receiver(channel: Channel, context: RoleContext, pool: PayloadPool,
                        count: int) -> RoleReport:
    receive, release, check, progress = (channel.receive, channel.release, pool.check,
                                         context.progress)
    context.ready()
    cpu_start = cpu_seconds()
    for seq in range(count):
        check(seq, receive())
        release()
        progress(seq + 1)
    context.send_ack(count)
    return RoleReport(cpu_s=cpu_seconds() - cpu_start, messages_checked=count,
                      bytes_checked=count * pool.message_size)


def latency_pinger(channel: Channel, context: RoleContext, pool: PayloadPool,
                   count: int) -> RoleReport:
    send, receive, release = channel.send, channel.receive, channel.release
    message, check, progress = pool.message, pool.check, context.progress
    clock = time.perf_counter_ns
    pool.prefault()
    round_trips = array.array("Q", bytes(8 * count))  # allocated now, not while timing
    context.ready()
    cpu_start = cpu_seconds()
    start = time.perf_counter()
    for seq in range(count):
        sent = clock()
        send(message(seq))
        check(seq, receive())
        release()
        round_trips[seq] = clock() - sent
        progress(seq + 1)
    elapsed = time.perf_counter() - start
    cpu = cpu_seconds() - cpu_start
    return RoleReport(elapsed_s=elapsed, cpu_s=cpu, messages_checked=count,
                      bytes_checked=count * pool.message_size, latency=summarise(round_trips))


def latency_echoer(channel: Channel, context: RoleContext, pool: PayloadPool,
                   count: int) -> RoleReport:
    send, receive, release = channel.send, channel.receive, channel.release
    check, progress = pool.check, context.progress
    context.ready()
    cpu_start = cpu_seconds()
    for seq in range(count):
        received = receive()
        check(seq, received)
        send(received)
        release()
        progress(seq + 1)
    return RoleReport(cpu_s=cpu_seconds() - cpu_start, messages_checked=count,
                      bytes_checked=count * pool.message_size)


# How far in the future message 0 is due when the sender picks the start: time for the receiver
# to be waiting in receive(), so that message 0 is not charged for it (harness: 1 ms too).
OPEN_LOOP_HEAD_START_NS = 1_000_000
# The sender sleeps until this long before a message is due, then spins: a sleep overshoots by
# tens of µs, and that lateness would be charged to the transport (harness: 200 µs too).
SPIN_WINDOW_NS = 200_000


def wait_until(due_ns: int, clock: Callable[[], int] = time.perf_counter_ns) -> None:
    """Returns at `due_ns` (perf_counter_ns), or at once if it has passed."""
    ahead = due_ns - clock()
    if ahead > SPIN_WINDOW_NS:
        time.sleep((ahead - SPIN_WINDOW_NS) / 1e9)
    while clock() < due_ns:
        pass


def open_loop_sender(channel: Channel, context: RoleContext, pool: PayloadPool,
                     count: int) -> RoleReport:
    """Sends message `seq` when it is due, or at once when already late (the lateness is
    queueing, and counts in its latency); the clock runs from the schedule's start to the
    receiver's acknowledgement. The start goes to the receiver on the board before message 0:
    perf_counter_ns is CLOCK_MONOTONIC, one clock for both processes."""
    send, message, progress = channel.send, pool.message, context.progress
    interval, clock = context.send_interval_ns, time.perf_counter_ns
    pool.prefault()
    context.ready()
    cpu_start = cpu_seconds()
    start = clock() + OPEN_LOOP_HEAD_START_NS
    context.announce_start(start)
    for seq in range(count):
        due = start + seq * interval
        if clock() < due:
            wait_until(due, clock)
        send(message(seq))
        progress(seq + 1)
    acknowledged = context.receive_ack()
    elapsed = (clock() - start) / 1e9
    cpu = cpu_seconds() - cpu_start
    if acknowledged != count:
        raise RuntimeError(f"the receiver acknowledged {acknowledged} of {count} messages")
    return RoleReport(elapsed_s=elapsed, cpu_s=cpu)


def open_loop_receiver(channel: Channel, context: RoleContext, pool: PayloadPool,
                       count: int) -> RoleReport:
    """Checks each message and records how long after its intended send time it was checked
    (never negative: a message is sent no earlier than it is due)."""
    receive, release, check, progress = (channel.receive, channel.release, pool.check,
                                         context.progress)
    interval, clock = context.send_interval_ns, time.perf_counter_ns
    delays = array.array("Q", bytes(8 * count))  # allocated now, not while timing
    context.ready()
    cpu_start = cpu_seconds()
    start = 0
    for seq in range(count):
        check(seq, receive())
        checked_at = clock()
        release()
        if seq == 0:
            start = context.announced_start()  # written before message 0 was sent
        delays[seq] = max(0, checked_at - start - seq * interval)
        progress(seq + 1)
    context.send_ack(count)
    return RoleReport(cpu_s=cpu_seconds() - cpu_start, messages_checked=count,
                      bytes_checked=count * pool.message_size,
                      latency=summarise(delays, "lat_"))


@dataclasses.dataclass(frozen=True)
class Role:
    name: str
    body: Callable[..., RoleReport]  # a pair's: (Channel, RoleContext, PayloadPool, count)


WORKLOADS: Dict[str, Tuple[Role, Role]] = {  # (leader, follower); pairs runs throughput's
    THROUGHPUT: (Role("sender", throughput_sender), Role("receiver", throughput_receiver)),
    LATENCY: (Role("pinger", latency_pinger), Role("echoer", latency_echoer)),
    OPENLOOP: (Role("sender", open_loop_sender), Role("receiver", open_loop_receiver)),
}
