"""The sweep (as harness/src/repetition_runner.cpp): every repetition of every benchmark, in one
shuffled order, each a row, a benchmark's aggregates after its last."""
import dataclasses
import random
from typing import List, Optional, Tuple

from .calibration import calibrate
from .output import (aggregate_rows, benchmark_name, console_line, error_row, iteration_row,
                     row_header, say)
from .payload import PayloadPool
from .settings import Settings
from .supervision import RunResult, run_fan, run_pair


@dataclasses.dataclass(frozen=True)
class Benchmark:
    workload: str
    transport: type
    size: int
    workers: int = 0  # a worker pool's W (fanout, fanin); 0 for a pair

    @property
    def name(self) -> str:
        return benchmark_name(self.workload, self.transport.id, self.size, self.workers)


def schedule(benchmark_count: int, repetitions: int, seed: int) -> List[int]:
    """The order of the runs: each benchmark's index `repetitions` times, shuffled across all of
    them, so that a drift (a neighbour, the clock, the heat) spreads over every benchmark as
    variance instead of biasing the ones that ran while it lasted. A benchmark's k-th run in this
    order is its repetition k."""
    order = [index for index in range(benchmark_count) for _ in range(repetitions)]
    random.Random(seed).shuffle(order)
    return order


def run_repetition(benchmark: Benchmark, header: dict, index: int, count: Optional[int],
                   settings: Settings) -> Tuple[dict, Optional[int]]:
    """Repetition `index` of `benchmark`: its row, and the message count for the benchmark's
    next repetitions. With no count yet (the first repetition, or the one after a failed
    calibration) it calibrates one first; a failure is this repetition's error row."""
    reason = (benchmark.transport.unavailable(settings)
              or benchmark.transport.cannot_carry(benchmark.size))
    if reason:
        return error_row(header, index, f"skipped: {reason}"), None
    if settings.fault and not settings.fault.strikes(index):
        settings = dataclasses.replace(settings, fault=None)
    pool = PayloadPool(benchmark.size)

    def run(messages: int) -> RunResult:
        if benchmark.workers:
            return run_fan(benchmark.transport, benchmark.workload, pool, messages,
                           benchmark.workers, settings)
        return run_pair(benchmark.transport, benchmark.workload, pool, messages, settings)

    if count is None:
        count, pilot = calibrate(run, settings.min_time)
        if pilot.error:
            return error_row(header, index, pilot.error, pilot.label), None
    result = run(count)
    if result.error:
        return error_row(header, index, result.error, result.label), count
    return (iteration_row(header, index, benchmark.workload, benchmark.size, count, result),
            count)


def run_sweep(benchmarks: List[Benchmark], settings: Settings, seed: int) -> List[dict]:
    """Runs every repetition of every benchmark in schedule()'s order, saying each row as it
    comes, and a benchmark's aggregates after its last repetition. A failed repetition is a row
    like the others: it never ends the sweep (a stall costs its timeout in each repetition it
    hits). Returns the rows grouped by benchmark as Google Benchmark writes them: repetitions
    in the order they ran, then the aggregates over the successful ones."""
    headers = [row_header(b.name, i, settings.repetitions) for i, b in enumerate(benchmarks)]
    rows: List[List[dict]] = [[] for _ in benchmarks]
    aggregates: List[List[dict]] = [[] for _ in benchmarks]
    counts: List[Optional[int]] = [None for _ in benchmarks]
    for i in schedule(len(benchmarks), settings.repetitions, seed):
        row, counts[i] = run_repetition(benchmarks[i], headers[i], len(rows[i]), counts[i],
                                        settings)
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
