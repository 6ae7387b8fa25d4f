"""The sweep (as harness/src/repetition_runner.cpp): every repetition of every benchmark, in one
shuffled order, each a row, a benchmark's aggregates after its last."""
import dataclasses
import math
import random
from typing import Dict, List, Optional, Tuple

from .calibration import MAX_ITERATIONS, calibrate
from .fan_workloads import FAN_WORKLOADS
from .output import (aggregate_rows, benchmark_name, console_line, error_row, iteration_row,
                     row_header, say)
from .payload import PayloadPool
from .settings import Settings
from .supervision import RunResult, run_fan, run_pair, run_pairs
from .workloads import OPENLOOP, PAIRS, THROUGHPUT

# A transport's peak is the fastest of this many throughput runs: on a shared machine noise only
# ever slows a run down, and a low peak would offer every load below what it says.
PEAK_RUNS = 3
MIN_OPEN_LOOP_MESSAGES = 1000  # the fewest an open-loop repetition sends, whatever the rate


@dataclasses.dataclass(frozen=True)
class Benchmark:
    workload: str
    transport: type
    size: int
    # The name's last argument: a worker pool's W (fanout, fanin), P pairs at once (pairs), the
    # offered load in percent of the peak (openloop); 0 for one pair.
    scale: int = 0

    @property
    def name(self) -> str:
        return benchmark_name(self.workload, self.transport.id, self.size, self.scale)


@dataclasses.dataclass
class SweepMemory:
    """What a sweep learns once and reuses, by benchmark name (as repetition_runner's counts_ and
    peaks_): each benchmark's message count, and each transport and size's peak (messages per
    second) with the throughput count it was measured with."""
    counts: Dict[str, int] = dataclasses.field(default_factory=dict)
    peaks: Dict[str, float] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class OpenLoopPlan:
    """An open-loop repetition at a share of the transport's peak (repetition_runner's
    open_loop_plan): its interval between intended sends, and at least min-time of messages."""
    peak: float  # messages per second
    load_percent: int
    interval_ns: int
    count: int

    @staticmethod
    def at(peak: float, load_percent: int, min_time: float) -> "OpenLoopPlan":
        interval_ns = max(1, round(1e9 / (peak * load_percent / 100)))
        lasting = math.ceil(min_time * 1e9 / interval_ns)
        return OpenLoopPlan(peak, load_percent, interval_ns,
                            min(max(lasting, MIN_OPEN_LOOP_MESSAGES), MAX_ITERATIONS))

    def counters(self) -> Dict[str, float]:
        return {"peak_msgs_per_s": self.peak, "load_pct": float(self.load_percent),
                "offered_msgs_per_s": 1e9 / self.interval_ns}


def peak_rate(transport: type, pool: PayloadPool, memory: SweepMemory,
              settings: Settings) -> Tuple[float, Optional[RunResult]]:
    """The transport's peak at this size, measured once per sweep, before its first open-loop
    repetition: the fastest of PEAK_RUNS throughput runs of the throughput benchmark's count
    (calibrated here unless that benchmark already has one). Returns it, or 0 and the failed
    run, after which the next open-loop repetition measures again. No fault is injected here."""
    name = benchmark_name(THROUGHPUT, transport.id, pool.message_size)
    if name in memory.peaks:
        return memory.peaks[name], None
    settings = dataclasses.replace(settings, fault=None)

    def run(messages: int) -> RunResult:
        return run_pair(transport, THROUGHPUT, pool, messages, settings)

    count = memory.counts.get(name)
    if count is None:
        count, pilot = calibrate(run, settings.min_time)
        if pilot.error:
            return 0.0, pilot
        memory.counts[name] = count
    fastest = 0.0
    for _ in range(PEAK_RUNS):
        result = run(count)
        if result.error:
            return 0.0, result
        fastest = max(fastest, count / result.seconds)
    memory.peaks[name] = fastest
    return fastest, None


def schedule(benchmark_count: int, repetitions: int, seed: int) -> List[int]:
    """The order of the runs: each benchmark's index `repetitions` times, shuffled across all of
    them, so that a drift (a neighbour, the clock, the heat) spreads over every benchmark as
    variance instead of biasing the ones that ran while it lasted. A benchmark's k-th run in this
    order is its repetition k."""
    order = [index for index in range(benchmark_count) for _ in range(repetitions)]
    random.Random(seed).shuffle(order)
    return order


def run_repetition(benchmark: Benchmark, header: dict, index: int, memory: SweepMemory,
                   settings: Settings) -> dict:
    """Repetition `index` of `benchmark`: its row. With no message count yet in `memory` (the
    first repetition, or the one after a failed calibration) it calibrates one first; an open
    loop's count comes from the rate instead, the transport's peak measured first. A failure is
    this repetition's error row."""
    transport, workload = benchmark.transport, benchmark.workload
    reason = (transport.unavailable(settings) or transport.cannot_carry(benchmark.size)
              or transport.cannot_run(workload))
    if reason:
        return error_row(header, index, f"skipped: {reason}")
    if settings.fault and not settings.fault.strikes(index):
        settings = dataclasses.replace(settings, fault=None)
    pool = PayloadPool(benchmark.size)

    if workload == OPENLOOP:
        peak, failure = peak_rate(transport, pool, memory, settings)
        if failure:
            return error_row(header, index, f"measuring the peak: {failure.error}",
                             failure.label)
        plan = OpenLoopPlan.at(peak, benchmark.scale, settings.min_time)
        result = run_pair(transport, workload, pool, plan.count,
                          dataclasses.replace(settings, send_interval_ns=plan.interval_ns))
        result.open_loop = plan.counters()
        count = plan.count
    else:
        def run(messages: int) -> RunResult:
            if workload in FAN_WORKLOADS:
                return run_fan(transport, workload, pool, messages, benchmark.scale, settings)
            if workload == PAIRS:
                return run_pairs(transport, pool, messages, benchmark.scale, settings)
            return run_pair(transport, workload, pool, messages, settings)

        count = memory.counts.get(benchmark.name)
        if count is None:
            count, pilot = calibrate(run, settings.min_time)
            if pilot.error:
                return error_row(header, index, pilot.error, pilot.label)
            memory.counts[benchmark.name] = count
        result = run(count)
    if result.error:
        return error_row(header, index, result.error, result.label)
    # The row's iterations: every pair's messages for pairs (`count` is each pair's).
    iterations = result.messages if workload == PAIRS else count
    return iteration_row(header, index, workload, benchmark.size, iterations, result)


def run_sweep(benchmarks: List[Benchmark], settings: Settings, seed: int) -> List[dict]:
    """Runs every repetition of every benchmark in schedule()'s order, saying each row as it
    comes, and a benchmark's aggregates after its last repetition. A failed repetition is a row
    like the others: it never ends the sweep (a stall costs its timeout in each repetition it
    hits). Returns the rows grouped by benchmark as Google Benchmark writes them: repetitions
    in the order they ran, then the aggregates over the successful ones."""
    headers = [row_header(b.name, i, settings.repetitions) for i, b in enumerate(benchmarks)]
    rows: List[List[dict]] = [[] for _ in benchmarks]
    aggregates: List[List[dict]] = [[] for _ in benchmarks]
    memory = SweepMemory()
    for i in schedule(len(benchmarks), settings.repetitions, seed):
        row = run_repetition(benchmarks[i], headers[i], len(rows[i]), memory, settings)
        rows[i].append(row)
        say(console_line(row))
        if len(rows[i]) == settings.repetitions:  # its last one
            if settings.repetitions > 1:
                ok = sum(1 for r in rows[i] if not r.get("error_occurred"))
                say(f"{benchmarks[i].name}: {ok} of {settings.repetitions} repetitions ok")
            aggregates[i] = aggregate_rows(rows[i])
            for aggregate in aggregates[i]:
                say(console_line(aggregate))
    return [row for i in range(len(benchmarks)) for row in rows[i] + aggregates[i]]
