"""The workloads: what each side of a pair does (as harness/src/workloads.cpp). Throughput: the
sender's clock stops on the receiver's acknowledgement of the last message. Latency: a ping-pong
in which the pinger records every round trip. Every received message is checked."""
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

    def __init__(self, control, ack, progress: Callable[[int], None], peer_binary: str = ""):
        self._control = control
        self._ack = ack
        self.progress = progress
        self.peer_binary = peer_binary  # for a leader that is another program

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


@dataclasses.dataclass(frozen=True)
class Role:
    name: str
    body: Callable[..., RoleReport]  # a pair's: (Channel, RoleContext, PayloadPool, count)


WORKLOADS: Dict[str, Tuple[Role, Role]] = {  # (leader, follower)
    "throughput": (Role("sender", throughput_sender), Role("receiver", throughput_receiver)),
    "latency": (Role("pinger", latency_pinger), Role("echoer", latency_echoer)),
}
