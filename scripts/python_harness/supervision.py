"""The controller's side of a run (as harness/src/peer_process.cpp): forks the processes (a
pair's leader and follower, several pairs' (harness/src/pair_group.hpp), or a worker pool's hub
and workers), says go once all are ready, and watches them without ever blocking on the data
path: a child that dies, fails or makes no progress ends the run with an error naming it (and
its pair), every process of the run killed."""
import dataclasses
import multiprocessing
import multiprocessing.connection
import os
import time
from typing import TYPE_CHECKING, Callable, Dict, List, Optional, Sequence, Tuple

from .byte_sizes import GIB
from .child import ControlLinks, PairLinks, ProgressBoard, child_main
from .errors import describe_exception, how_it_ended
from .fan_workloads import FANOUT, exactly_once_error, fan_child_main, slowest_worker_share
from .host import cpu_ticks, load_average_1m, steal_percent
from .settings import READY_LIMIT
from .stats import slowest_share
from .payload import PayloadPool
from .workloads import FOLLOWER, LEADER, OPENLOOP, SIDES, THROUGHPUT, RoleReport

if TYPE_CHECKING:
    from .settings import Settings
    from .fan_transports import FanTransport
    from .transports import Transport

SUPERVISION_TICK = 0.05  # how often the controller looks at progress, in seconds
CAUSE_GRACE = 0.3  # how long a failure waits for the peer's death that may have caused it


@dataclasses.dataclass
class Child:
    side: int
    name: str
    process: multiprocessing.process.BaseProcess
    control: multiprocessing.connection.Connection
    board: ProgressBoard
    group: str = ""  # "pair 2 of 4: " when several pairs run at once, for every error
    ready: bool = False
    report: Optional[RoleReport] = None
    failure: Optional[str] = None  # what the child said went wrong
    died: bool = False  # ended without a report

    def settled(self) -> bool:
        return self.report is not None or self.failure is not None or self.died

    def where(self) -> str:
        return f"{self.group}{self.name} at message {self.board.get(self.side)}"

    def death(self) -> str:
        return f"{self.where()}: the {self.name} process died " \
               f"({how_it_ended(self.process.exitcode)})"


def take_message(child: Child) -> None:
    """Reads one control message from `child` (it is known to be readable)."""
    try:
        kind, *payload = child.control.recv()
    except (EOFError, OSError):
        child.process.join(1.0)
        child.died = True
        return
    if kind == "ready":
        child.ready = True
    elif kind == "report":
        child.report = payload[0]
    else:
        child.failure = child.group + payload[0]


def take_events(children: List[Child], timeout: float) -> bool:
    """Waits up to `timeout` for control messages or exits; returns whether anything came."""
    live = [c for c in children if not c.settled()]
    waitables = [c.control for c in live] + [c.process.sentinel for c in live]
    readable = multiprocessing.connection.wait(waitables, timeout) if waitables else []
    for child in live:
        if child.control in readable or child.control.poll():  # a report may precede the exit
            take_message(child)
        elif child.process.sentinel in readable:
            child.process.join(1.0)
            child.died = True
    return bool(readable)


def failure_of(children: List[Child]) -> Optional[str]:
    """The error of a failed run, cause first: a side that fails often only reports the symptom
    (EOFError, BrokenPipeError) of its peer's death, so deaths are named before failures."""
    if not any(c.failure or c.died for c in children):
        return None
    take_events(children, CAUSE_GRACE)
    deaths = [c.death() for c in children if c.died]
    failures = [c.failure for c in children if c.failure]
    return "; ".join(deaths + failures)


def supervise(children: List[Child], stall_timeout: float, done: Callable[[Child], bool],
              board: ProgressBoard, names: Sequence[str]) -> Optional[str]:
    """Waits until every child is `done`, one fails or dies, or nothing moves on the board for
    `stall_timeout` seconds (`names`: what each slot of the board is, for the message).
    Returns an error description, or None."""
    last_move = time.monotonic()
    last_progress = board.snapshot()
    while not all(done(c) for c in children):
        moved = take_events(children, SUPERVISION_TICK)
        error = failure_of(children)
        if error:
            return error
        progress = board.snapshot()
        if moved or progress != last_progress:
            last_move, last_progress = time.monotonic(), progress
        elif time.monotonic() - last_move > stall_timeout:
            where = ", ".join(f"{name} at message {done}" for name, done in zip(names, progress))
            return f"stalled: no progress for {stall_timeout:g} s ({where})"
    return None


@dataclasses.dataclass
class RunResult:
    """One measurement run, from both sides' reports, or its error."""
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    messages: int = 0
    bytes_checked: int = 0
    latency: Optional[Dict[str, float]] = None
    pool_bytes: int = 0
    pipe_capacity: Optional[int] = None  # the pipe the leader wrote to, if a pipe
    steal_pct: float = 0.0  # the machine over the timed phase
    loadavg_1m: float = -1.0
    label: Optional[str] = None  # the transport's description, once it was set up
    slowest_worker_share: Optional[float] = None  # a worker pool's
    slowest_pair_share: Optional[float] = None  # several pairs'
    # openloop's plan: peak_msgs_per_s, load_pct, offered_msgs_per_s (set by the sweep)
    open_loop: Optional[Dict[str, float]] = None
    error: Optional[str] = None

    def cpu_seconds_per_gib(self) -> float:
        return self.cpu_seconds / (self.bytes_checked / GIB) if self.bytes_checked else 0.0


def start_children(children: List[Child], transport: "Transport", workload: str,
                   links: PairLinks, board: ProgressBoard, pool: PayloadPool, count: int,
                   settings: "Settings", first_slot: int = 0, group: str = "") -> None:
    """Forks the leader and the follower, appending each to `children` as soon as it exists
    (so that the caller can kill it whatever happens next). Their board slots start at
    `first_slot`; `group` prefixes their errors (which of several pairs)."""
    ctx = multiprocessing.get_context("fork")
    for side, role in zip(SIDES, type(transport).roles(workload)):
        process = ctx.Process(target=child_main, name=role.name, daemon=True,
                              args=(side, role, transport, links, board, pool, count, settings,
                                    os.getpid(), first_slot))
        process.start()
        children.append(Child(first_slot + side, role.name, process, links.controller_end(side),
                              board, group))
    links.drop_child_ends()
    transport.close()  # both sides exist: the controller's copies would hide a dead peer


def tell(child: Child, message: str) -> None:
    try:
        child.control.send(message)
    except OSError:
        pass  # it died: supervise() says so, with how it ended


def run_children(start: Callable[[List[Child]], None], board: ProgressBoard,
                 names: Sequence[str], settings: "Settings"
                 ) -> Tuple[Optional[str], float, float, List[Optional[RoleReport]]]:
    """Starts the children (`start` appends each to the list as soon as it exists, so that it
    can be killed whatever happens next), says go to each in the order started once all are
    ready, and waits for their reports. Returns the run's error or None, the machine's CPU
    steal and load over the timed phase, and the children's reports in the order started.
    Every child has exited when it returns (killed, on an error)."""
    children: List[Child] = []
    error: Optional[str] = "interrupted"
    steal_pct, loadavg_1m = 0.0, -1.0
    try:
        start(children)
        error = supervise(children, max(settings.stall_timeout, READY_LIMIT), lambda c: c.ready,
                          board, names)
        if not error:
            for child in children:
                tell(child, "go")
            # Seen from here, the timed phase runs from go to the reports (a few ms more).
            ticks_at_go = cpu_ticks()
            error = supervise(children, settings.stall_timeout, lambda c: c.report is not None,
                              board, names)
            steal_pct, loadavg_1m = steal_percent(ticks_at_go, cpu_ticks()), load_average_1m()
    except OSError as failure:
        error = f"starting the processes: {describe_exception(failure)}"
    finally:
        for child in children:
            if error:
                child.process.kill()
            child.process.join(settings.stall_timeout)
            if child.process.exitcode is None:  # reported, but will not exit: do not wait on
                child.process.kill()
                child.process.join()
    return error, steal_pct, loadavg_1m, [c.report for c in children]


def run_pair(transport_class: type, workload: str, pool: PayloadPool, count: int,
             settings: "Settings") -> RunResult:
    """One measurement run: `count` messages (or round trips) between two fresh processes."""
    ctx = multiprocessing.get_context("fork")
    try:
        transport = transport_class(ctx, pool)
    except Exception as error:
        return RunResult(error=f"setting up {transport_class.id}: {describe_exception(error)}")
    links = PairLinks(ctx)
    board = ProgressBoard()
    roles = type(transport).roles(workload)
    try:
        error, steal_pct, loadavg_1m, reports = run_children(
            lambda children: start_children(children, transport, workload, links, board, pool,
                                            count, settings),
            board, [role.name for role in roles], settings)
    finally:
        transport.close()
        links.close()
        board.close()
    if error:
        return RunResult(error=error, label=transport.label(None))
    result = combine(workload, count, pool, reports[LEADER], reports[FOLLOWER])
    result.steal_pct, result.loadavg_1m = steal_pct, loadavg_1m
    result.label = transport.label(result.pipe_capacity)
    return result


def combine(workload: str, count: int, pool: PayloadPool, leader: RoleReport,
            follower: RoleReport) -> RunResult:
    """The run's figures from both sides' reports, after checking that every byte was seen."""
    result = RunResult(seconds=leader.elapsed_s, cpu_seconds=leader.cpu_s + follower.cpu_s,
                       messages=follower.messages_checked,
                       bytes_checked=leader.bytes_checked + follower.bytes_checked,
                       # The side that timed the messages: the pinger its round trips, the
                       # open-loop receiver each message's delay.
                       latency=follower.latency if workload == OPENLOOP else leader.latency,
                       pool_bytes=pool.pool_bytes,
                       pipe_capacity=follower.pipe_capacity)
    expected_bytes = count * pool.message_size * (2 if workload == "latency" else 1)
    if result.messages != count or result.bytes_checked != expected_bytes:
        result.error = f"only {result.bytes_checked} of {expected_bytes} bytes were checked"
    return result


def run_pairs(transport_class: type, pool: PayloadPool, count: int, pairs: int,
              settings: "Settings") -> RunResult:
    """One measurement run of the pairs workload: `pairs` independent throughput pairs of
    `count` messages each, every pair with its own transport, two processes and ack pipe, all
    supervised together and started on one go (as harness/src/pair_group.hpp, without its
    sub-controllers: this controller watches all 2P processes itself). Pair p's transport is
    made just before its processes are forked and dropped here just after, so that no pair's
    processes hold another pair's ends (a dead peer still reads as one). A pair that fails ends
    the run, every process killed, the error naming the pair. The fault, if any, strikes the
    last pair's follower."""
    ctx = multiprocessing.get_context("fork")
    board = ProgressBoard(2 * pairs)
    roles = transport_class.roles(THROUGHPUT)
    names = [f"pair {p + 1} {role.name}" for p in range(pairs) for role in roles]
    made: List[Tuple["Transport", PairLinks]] = []
    failures: List[str] = []

    def start(children: List[Child]) -> None:
        for p in range(pairs):
            group = f"pair {p + 1} of {pairs}: "
            try:
                transport = transport_class(ctx, pool)
            except Exception as error:
                failures.append(f"{group}setting up {transport_class.id}: "
                                f"{describe_exception(error)}")
                # run_children kills what was started; the row says this, not its wrapper.
                raise OSError(failures[-1]) from error
            made.append((transport, PairLinks(ctx)))
            struck = settings if p == pairs - 1 else dataclasses.replace(settings, fault=None)
            start_children(children, transport, THROUGHPUT, made[-1][1], board, pool, count,
                           struck, first_slot=2 * p, group=group)

    try:
        error, steal_pct, loadavg_1m, reports = run_children(start, board, names, settings)
    finally:
        for transport, links in made:
            transport.close()
            links.close()
        board.close()
    label = made[0][0].label(None) if made else None
    if error:
        return RunResult(error=failures[0] if failures else error, label=label)
    return combine_pairs(count, pool, reports, made[0][0], steal_pct, loadavg_1m)


def combine_pairs(count: int, pool: PayloadPool, reports: List[Optional[RoleReport]],
                  transport: "Transport", steal_pct: float, loadavg_1m: float) -> RunResult:
    """The pairs' figures added up over the slowest pair's timed phase (as harness/src's
    run_pairs), each pair's checked as a pair alone is; slowest_pair_share is the slowest pair's
    throughput over the pairs' mean."""
    each = [combine(THROUGHPUT, count, pool, reports[i], reports[i + 1])
            for i in range(0, len(reports), 2)]
    result = RunResult(seconds=max(r.seconds for r in each),
                       cpu_seconds=sum(r.cpu_seconds for r in each),
                       messages=sum(r.messages for r in each),
                       bytes_checked=sum(r.bytes_checked for r in each),
                       pool_bytes=pool.pool_bytes, pipe_capacity=each[0].pipe_capacity,
                       steal_pct=steal_pct, loadavg_1m=loadavg_1m)
    result.slowest_pair_share = slowest_share([r.bytes_checked / r.seconds for r in each])
    broken = [(p, r.error) for p, r in enumerate(each) if r.error]
    if broken:
        result.error = f"pair {broken[0][0] + 1} of {len(each)}: {broken[0][1]}"
    pairs = len(each)
    result.label = (f"{transport.label(result.pipe_capacity)}; {pairs} pair"
                    f"{'s' if pairs > 1 else ''} at once, each its own transport and processes")
    return result


def start_fan_children(children: List[Child], transport: "FanTransport", links: ControlLinks,
                       board: ProgressBoard, pool: PayloadPool, count: int,
                       settings: "Settings") -> None:
    """Forks the hub and (unless the hub makes them, as a Pool's) the workers, appending each to
    `children` as soon as it exists. Not daemonic: a Pool's hub has children of its own."""
    ctx = multiprocessing.get_context("fork")
    for slot, role in enumerate(transport.roles()):
        process = ctx.Process(target=fan_child_main, name=role.name, daemon=False,
                              args=(slot, role, transport, links, board, pool, count,
                                    transport.workers, transport.workload, settings,
                                    os.getpid()))
        process.start()
        children.append(Child(slot, role.name, process, links.controller_end(slot), board))
    links.drop_child_ends()
    transport.close()  # every process exists: the controller's copies would hide a dead one


def run_fan(transport_class: type, workload: str, pool: PayloadPool, count: int, workers: int,
            settings: "Settings") -> RunResult:
    """One measurement run of a worker pool: `count` messages between a fresh hub and W fresh
    workers."""
    ctx = multiprocessing.get_context("fork")
    try:
        transport = transport_class(ctx, pool, workload, workers, count)
    except Exception as error:
        return RunResult(error=f"setting up {transport_class.id}: {describe_exception(error)}")
    links = ControlLinks(ctx, len(transport.roles()))
    board = ProgressBoard(workers + 1)
    try:
        error, steal_pct, loadavg_1m, reports = run_children(
            lambda children: start_fan_children(children, transport, links, board, pool, count,
                                                settings),
            board, transport.slot_names(), settings)
        if not error:
            result = combine_fan(workload, count, workers, pool, reports, board)
    finally:
        transport.close()
        links.close()
        board.close()
    if error:
        return RunResult(error=error, label=transport.label())
    result.steal_pct, result.loadavg_1m = steal_pct, loadavg_1m
    result.label = transport.label()
    return result


def combine_fan(workload: str, count: int, workers: int, pool: PayloadPool,
                reports: List[RoleReport], board: ProgressBoard) -> RunResult:
    """The run's figures from the hub's report and the board (every worker's messages, the time
    of its last one and its CPU), after checking that every message was checked exactly once."""
    hub = reports[0]
    slots = range(1, workers + 1)
    counts = [board.get(slot) for slot in slots]
    checked = sum(counts) if workload == FANOUT else hub.messages_checked
    result = RunResult(seconds=hub.elapsed_s,
                       cpu_seconds=hub.cpu_s + sum(board.cpu_s[slot] for slot in slots),
                       messages=checked, bytes_checked=checked * pool.message_size,
                       pool_bytes=pool.pool_bytes)
    result.slowest_worker_share = slowest_worker_share(
        counts, [board.done_at[slot] for slot in slots], hub.started_s)
    expected_bytes = count * pool.message_size
    if result.bytes_checked != expected_bytes:
        result.error = f"only {result.bytes_checked} of {expected_bytes} bytes were checked"
    elif len(reports) > 1 and workload == FANOUT:  # the consumers' bitmaps (a Pool's hub checks)
        result.error = exactly_once_error([r.seen for r in reports[1:]], count)
    return result
