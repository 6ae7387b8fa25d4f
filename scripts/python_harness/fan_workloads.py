"""The worker-pool workloads (issue 14): one hub and W workers. fanout: the hub produces every
message and the workers take them, each checking every byte of what it took; the hub's clock
runs from go to the last acknowledgement. fanin: the workers produce (worker w, for a Queue, the
messages w, w + W, w + 2W...), the hub checks every byte of every message; its clock runs from go
to the last message checked.

A worker learns which message it holds from its stamp (PayloadPool.sequence_of), so messages
need at least 8 bytes; that every message was handled exactly once is checked from the sequence
numbers (a bitmap per checker), that each producer's messages arrived in order, where a producer
has an order, from the Queue's per-producer sequence.

Board slots: the hub is HUB (0), worker i (from 1) is slot i. Each marks its progress there with
the time of its last message (ProgressBoard.marker), and a worker its CPU seconds when it is done:
the controller's stall check and slowest_worker_share read them. A Pool's workers are not the
controller's children but the hub's: they reach the controller through the board only.
"""
import dataclasses
import multiprocessing
import multiprocessing.connection
import os
import threading
import time
from multiprocessing import util
from typing import TYPE_CHECKING, Any, Callable, Dict, Optional, Sequence

from .child import (ControlLinks, FaultInjector, LockedConnection, ProgressBoard, die_with_parent,
                    live)
from .errors import how_it_ended
from .payload import MessageMismatch, PayloadPool
from .stats import slowest_share
from .workloads import Role, RoleContext, RoleReport, cpu_seconds

if TYPE_CHECKING:
    from .child import Fault
    from .settings import Settings

FANOUT, FANIN = "fanout", "fanin"
FAN_WORKLOADS = (FANOUT, FANIN)
HUB = 0  # the hub's board slot; worker i's is i (1..W)
LOSS = "(lost, duplicated or reordered)"


def fault_slot(fault: "Fault", workload: str) -> int:
    """Who the fault strikes: the first worker, or for corrupt@N in fanin the hub (it checks)."""
    return HUB if fault.action == "corrupt" and workload == FANIN else 1


@dataclasses.dataclass
class FanSide:
    """What one process of a worker pool has, besides its transport's objects."""
    slot: int
    workload: str
    workers: int
    count: int
    pool: PayloadPool
    board: ProgressBoard
    context: RoleContext  # ready/go, and progress: the board's marker of this slot
    fault: Optional["Fault"]  # the run's, if a test asked for one
    inject: Optional[FaultInjector]  # the fault seam, None unless this process is struck
    control: LockedConnection  # for a hub that reports from a second thread


def note_once(seen: bytearray, seq: int) -> None:
    """Marks message `seq` as handled; one out of range or handled before is an error."""
    if seq >= len(seen):
        raise MessageMismatch(f"message {seq}: beyond the {len(seen)} sent {LOSS}")
    if seen[seq]:
        raise MessageMismatch(f"message {seq}: received twice {LOSS}")
    seen[seq] = 1


def exactly_once_error(bitmaps: Sequence[bytes], count: int) -> Optional[str]:
    """None if the checkers' bitmaps (seen[seq] = 1) add up to every message exactly once, else
    the first message that was not. Each byte is 0 or 1, so the bitmaps add as integers with no
    carry from one message to the next (for fewer than 256 bitmaps)."""
    total = sum(int.from_bytes(b, "little") for b in bitmaps)
    if total == int.from_bytes(b"\x01" * count, "little"):
        return None
    for seq in range(count):
        times = sum(b[seq] for b in bitmaps)
        if times != 1:
            return f"message {seq}: checked {times} times {LOSS}"
    return f"more messages checked than the {count} sent {LOSS}"


def slowest_worker_share(counts: Sequence[int], done_at: Sequence[float],
                         started: float) -> float:
    """The slowest worker's rate over the workers' mean rate (1 = perfectly even). A worker's
    rate is the messages it handled over its own busy time: from go (the hub's clock start) to
    the moment it finished its last message. A worker that handled none has rate 0."""
    return slowest_share([n / (t - started) if n and t > started else 0.0
                          for n, t in zip(counts, done_at)])


def with_fault(receive: Callable[[], Any], inject: Optional[FaultInjector]) -> Callable[[], Any]:
    """`receive` with the fault applied to the messages (not to None, the end of a stream)."""
    if inject is None:
        return receive

    def faulty_receive():
        message = receive()
        return message if message is None else inject(message)
    return faulty_receive


# py_queue: one multiprocessing.Queue between the hub and the W worker processes. Before saying
# ready, each side passes one WARM_UP token per worker through each Queue it will use, so that
# the feeder threads (started by a Queue's first put()) and the pipes are warm at go.

WARM_UP = "warm up"


def take_warm_up(queue) -> None:
    token = queue.get()
    if token != WARM_UP:
        raise RuntimeError(f"expected the warm-up token, received {token!r}")


def queue_fanout_producer(side: FanSide, queues) -> RoleReport:
    data, acks = queues
    put, message, progress = data.put, side.pool.message, side.context.progress
    side.pool.prefault()
    for _ in range(side.workers):
        put(WARM_UP)
    for _ in range(side.workers):
        take_warm_up(acks)
    side.context.ready()
    cpu_start = cpu_seconds()
    start = time.perf_counter()
    for seq in range(side.count):
        put(bytes(message(seq)))  # a memoryview cannot be pickled: bytes, as Python code would
        progress(seq + 1)
    for _ in range(side.workers):
        put(None)  # one end of stream per consumer: each stops at the first it takes
    acknowledged = sum(acks.get() for _ in range(side.workers))
    elapsed = time.perf_counter() - start
    cpu = cpu_seconds() - cpu_start
    if acknowledged != side.count:
        raise RuntimeError(f"the consumers acknowledged {acknowledged} of {side.count} messages")
    return RoleReport(elapsed_s=elapsed, cpu_s=cpu, started_s=start)


def queue_fanout_consumer(side: FanSide, queues) -> RoleReport:
    data, acks = queues
    receive = with_fault(data.get, side.inject)
    check, sequence_of, progress = side.pool.check, side.pool.sequence_of, side.context.progress
    seen = bytearray(side.count)
    take_warm_up(data)  # exactly one: a consumer reads nothing more before go
    acks.put(WARM_UP)
    side.context.ready()
    cpu_start = cpu_seconds()
    checked = 0
    while True:
        message = receive()
        if message is None:
            break
        seq = sequence_of(message)
        check(seq, message)
        note_once(seen, seq)
        checked += 1
        progress(checked)
    acks.put(checked)
    acks.close()
    acks.join_thread()  # the acknowledgement is in the pipe before this process reports
    side.board.cpu_s[side.slot] = cpu_seconds() - cpu_start
    return RoleReport(messages_checked=checked, bytes_checked=checked * side.pool.message_size,
                      seen=bytes(seen))


def queue_fanin_consumer(side: FanSide, queues) -> RoleReport:
    data, _ = queues
    receive = with_fault(data.get, side.inject)
    check, sequence_of, progress = side.pool.check, side.pool.sequence_of, side.context.progress
    workers = side.workers
    due = list(range(workers))  # the next message due from each producer, in its order
    for _ in range(workers):
        take_warm_up(data)
    side.context.ready()
    cpu_start = cpu_seconds()
    start = time.perf_counter()
    checked = ended = 0
    while ended < workers:
        message = receive()
        if message is None:
            ended += 1
            continue
        seq = sequence_of(message)
        producer = seq % workers
        if seq != due[producer]:
            raise MessageMismatch(f"message {seq}: producer {producer + 1} sent it where "
                                  f"message {due[producer]} was due {LOSS}")
        check(seq, message)
        due[producer] += workers
        checked += 1
        progress(checked)
    elapsed = time.perf_counter() - start
    cpu = cpu_seconds() - cpu_start
    if checked != side.count:
        raise MessageMismatch(f"the producers ended after {checked} of {side.count} messages "
                              f"{LOSS}")
    return RoleReport(elapsed_s=elapsed, cpu_s=cpu, started_s=start, messages_checked=checked,
                      bytes_checked=checked * side.pool.message_size)


def queue_fanin_producer(side: FanSide, queues) -> RoleReport:
    data, _ = queues
    put, message, progress = data.put, side.pool.message, side.context.progress
    if side.inject:
        message = lambda seq, stamped=message, inject=side.inject: inject(stamped(seq))  # noqa
    side.pool.prefault()
    put(WARM_UP)
    side.context.ready()
    cpu_start = cpu_seconds()
    sent = 0
    for seq in range(side.slot - 1, side.count, side.workers):
        put(bytes(message(seq)))
        sent += 1
        progress(sent)
    put(None)
    data.close()
    data.join_thread()  # every message of this producer is in the pipe: it is done
    progress(sent)  # when
    side.board.cpu_s[side.slot] = cpu_seconds() - cpu_start
    return RoleReport()


# py_pool: multiprocessing.Pool(W) made by the hub, as a Python program makes one. Its workers
# learn what they share from the initializer, the way Pool code hands it over.

@dataclasses.dataclass
class PoolWorker:
    pool: PayloadPool
    mark: Callable[[int], None]
    inject: Optional[FaultInjector]
    handled: int = 0


_pool_worker: Optional[PoolWorker] = None  # this Pool worker's, set by start_pool_worker


def start_pool_worker(hub_pid: int, board: ProgressBoard, pool: PayloadPool, claims,
                      workload: str, fault: Optional["Fault"]) -> None:
    """Pool's initializer, in each worker: dies with the hub, takes the next board slot, stamps
    its copy of the pool (fanin: no copy-on-write fault is then timed), arranges for its CPU
    to be written to the board when it exits, and publishes its pid: that says it is ready.
    A worker that replaces a dead one (slot beyond W) marks nothing: its run has failed."""
    global _pool_worker
    die_with_parent(hub_pid)
    with claims.get_lock():
        claims.value += 1
        slot = claims.value
    if slot >= board.slots:
        _pool_worker = PoolWorker(pool, lambda done: None, None)
        return
    if workload == FANIN:
        pool.prefault()
    inject = FaultInjector(fault) if fault and slot == fault_slot(fault, workload) else None
    _pool_worker = PoolWorker(pool, board.marker(slot), inject)
    cpu_start = cpu_seconds()
    # Finalizers run when a Pool worker leaves its loop (pool.close(), then join()); its CPU over
    # its life after this point: the timed tasks, and a few trivial warm-up ones.
    util.Finalize(None, record_cpu, args=(board, slot, cpu_start), exitpriority=0)
    board.pids[slot] = os.getpid()


def record_cpu(board: ProgressBoard, slot: int, cpu_start: float) -> None:
    board.cpu_s[slot] = cpu_seconds() - cpu_start


def check_message(message: bytes) -> int:
    """fanout's task: checks every byte of one message; returns its sequence number."""
    worker = _pool_worker
    if worker.inject:
        message = worker.inject(message)
    seq = worker.pool.sequence_of(message)
    worker.pool.check(seq, message)
    worker.handled += 1
    worker.mark(worker.handled)
    return seq


def make_message(seq: int) -> bytes:
    """fanin's task: message `seq`, from this worker's copy of the pool."""
    worker = _pool_worker
    message = bytes(worker.pool.message(seq))
    if worker.inject:
        message = worker.inject(message)
    worker.handled += 1
    worker.mark(worker.handled)
    return message


def warm_up(value: int) -> int:
    return value


# A chunk of imap's tasks holds at most this many message bytes: a default pipe's capacity.
CHUNK_BYTES = 64 << 10


def chunksize_for(message_size: int, count: int, workers: int) -> int:
    """imap's chunksize: Pool.map's own rule (count / 4W, so that every worker gets several
    chunks), at most CHUNK_BYTES of messages, at least 1 (one message per task from 64 KiB)."""
    return max(1, min(CHUNK_BYTES // message_size, -(-count // (4 * workers))))


class PoolDeathWatch:
    """Pool hides a worker's death: it starts a replacement, and the dead worker's task is lost,
    so that imap waits forever (CPython). This thread of the hub waits on the W workers'
    sentinels and reports a death at once as the hub's error; a frozen worker is left to the
    controller's stall timeout."""

    def __init__(self, side: FanSide, workers: Dict[int, multiprocessing.process.BaseProcess]):
        self._side = side
        self._workers = workers  # board slot -> process
        self._stop_read, self._stop_write = os.pipe()
        self._thread = threading.Thread(target=self._watch, name="pool death watch",
                                        daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        slots = {process.sentinel: slot for slot, process in self._workers.items()}
        ready = multiprocessing.connection.wait(list(slots) + [self._stop_read])
        if self._stop_read in ready:
            return
        slot = slots[ready[0]]
        process = self._workers[slot]
        deadline = time.monotonic() + 1.0
        # The Pool's own thread may reap it first: its exit code then shows a moment later.
        while process.exitcode is None and time.monotonic() < deadline:
            time.sleep(0.01)
        self._side.control.send((
            "error", f"pool worker {slot} at message {self._side.board.get(slot)}: the pool "
            f"worker process died ({how_it_ended(process.exitcode)}); a Pool replaces a dead "
            "worker but loses its task, so imap would wait forever"))

    def stop(self) -> None:
        os.write(self._stop_write, b"x")
        self._thread.join()
        os.close(self._stop_read)
        os.close(self._stop_write)


def start_pool(side: FanSide, ctx) -> Any:
    """The hub's Pool(W), its workers started, registered on the board, watched, and warmed
    (a few trivial tasks through imap's queues and threads)."""
    claims = ctx.Value("i", 0)
    pool = ctx.Pool(side.workers, initializer=start_pool_worker,
                    initargs=(os.getpid(), side.board, side.pool, claims, side.workload,
                              side.fault))
    slots = range(1, side.workers + 1)
    while not all(side.board.pids[slot] for slot in slots):
        time.sleep(0.001)
    processes = {p.pid: p for p in multiprocessing.active_children()}
    watch = PoolDeathWatch(side, {slot: processes[side.board.pids[slot]] for slot in slots})
    for _ in pool.imap_unordered(warm_up, range(4 * side.workers)):
        pass
    return pool, watch


def finish_pool(pool, watch: PoolDeathWatch) -> None:
    """Closes the Pool the way a program does; its workers write their CPU as they exit."""
    watch.stop()
    pool.close()
    pool.join()


def pool_fanout_producer(side: FanSide, chunksize: int) -> RoleReport:
    workers, watch = start_pool(side, multiprocessing.get_context("fork"))
    message, progress = side.pool.message, side.context.progress
    seen = bytearray(side.count)
    side.pool.prefault()
    side.context.ready()
    cpu_start = cpu_seconds()
    start = time.perf_counter()
    # The generator runs in the Pool's task handler thread, which pickles chunks of messages.
    messages = (bytes(message(seq)) for seq in range(side.count))
    acknowledged = 0
    for seq in workers.imap_unordered(check_message, messages, chunksize):
        note_once(seen, seq)
        acknowledged += 1
        progress(acknowledged)
    elapsed = time.perf_counter() - start
    cpu = cpu_seconds() - cpu_start
    finish_pool(workers, watch)
    return RoleReport(elapsed_s=elapsed, cpu_s=cpu, started_s=start)


def pool_fanin_consumer(side: FanSide, chunksize: int) -> RoleReport:
    workers, watch = start_pool(side, multiprocessing.get_context("fork"))
    check, sequence_of, progress = side.pool.check, side.pool.sequence_of, side.context.progress
    seen = bytearray(side.count)
    side.context.ready()
    cpu_start = cpu_seconds()
    start = time.perf_counter()
    messages = workers.imap_unordered(make_message, range(side.count), chunksize)
    if side.inject:
        messages = map(side.inject, messages)
    checked = 0
    for message in messages:
        seq = sequence_of(message)
        check(seq, message)
        note_once(seen, seq)
        checked += 1
        progress(checked)
    elapsed = time.perf_counter() - start
    cpu = cpu_seconds() - cpu_start
    finish_pool(workers, watch)
    return RoleReport(elapsed_s=elapsed, cpu_s=cpu, started_s=start, messages_checked=checked,
                      bytes_checked=checked * side.pool.message_size)


def fan_child_main(slot: int, role: Role, transport, links: ControlLinks,
                   board: ProgressBoard, pool: PayloadPool, count: int, workers: int,
                   workload: str, settings: "Settings", controller_pid: int) -> None:
    """The life of a worker pool's child: the hub (slot 0) or a worker (forked, so its
    arguments are the controller's objects). Nothing is pinned: W + 1 processes share the
    CPUs as the scheduler sees fit."""
    control = LockedConnection(links.control_for_child(slot))

    def work() -> RoleReport:
        opened = transport.open(slot)
        fault = settings.fault
        inject = FaultInjector(fault) if fault and slot == fault_slot(fault, workload) else None
        context = RoleContext(control, None, board.marker(slot))
        side = FanSide(slot, workload, workers, count, pool, board, context, fault, inject,
                       control)
        return role.body(side, opened)

    live(control, role.name, controller_pid, work)
