"""Figures derived from a run: metrics, who is better by how much, winners, size bands, levers.

Charts and the report both ask these questions; answering them here once keeps a ratio in a
chart and the same ratio in the report from ever disagreeing. Every function returns None (or
leaves an entry out) where a value is not measured or errored: nothing here invents a number.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, List, Optional, Sequence, Tuple

import transports as tp
from results import Run
from units import gib_per_s


@dataclass(frozen=True)
class Metric:
    label: str  # for the report's text and axis labels
    workload: str
    counter: str
    higher_is_better: bool
    unit: str
    scale: Callable[[float], float] = lambda v: v  # raw counter -> unit


THROUGHPUT = Metric("throughput", "throughput", "bytes_per_second", True, "GiB/s", gib_per_s)
RTT_P50 = Metric("p50 round trip", "latency", "rtt_p50_ns", False, "ns")
RTT_P99 = Metric("p99 round trip", "latency", "rtt_p99_ns", False, "ns")
CPU_STREAM = Metric("CPU per GiB (throughput)", "throughput", "cpu_s_per_GiB", False, "s/GiB")
CPU_PINGPONG = Metric("CPU per GiB (latency)", "latency", "cpu_s_per_GiB", False, "s/GiB")
MESSAGES = Metric("messages per second", "throughput", "items_per_second", True, "/s")


def value(run: Run, metric: Metric, transport: str, size: int) -> Optional[float]:
    raw = run.value(metric.workload, transport, size, metric.counter)
    return None if raw is None else metric.scale(raw)


def advantage(run: Run, metric: Metric, a: str, b: str, size: int) -> Optional[float]:
    """How many times better `a` is than `b` (> 1: a is better), whichever way the metric runs."""
    va, vb = value(run, metric, a, size), value(run, metric, b, size)
    if va is None or vb is None or va <= 0 or vb <= 0:
        return None
    return va / vb if metric.higher_is_better else vb / va


def fraction(run: Run, metric: Metric, a: str, of: str, size: int) -> Optional[float]:
    """a's value as a fraction of `of`'s (a plain quotient, e.g. tuned_pipe / memcpy)."""
    va, vb = value(run, metric, a, size), value(run, metric, of, size)
    if va is None or vb is None or vb == 0:
        return None
    return va / vb


def ranking(run: Run, metric: Metric, size: int,
            candidates: Sequence[str]) -> List[Tuple[str, float]]:
    """The measured candidates at `size`, best first."""
    measured = [(t, value(run, metric, t, size)) for t in candidates]
    kept = [(t, v) for t, v in measured if v is not None]
    return sorted(kept, key=lambda tv: (-tv[1] if metric.higher_is_better else tv[1],
                                        tp.sort_key(tv[0])))


def contenders(run: Run) -> List[str]:
    """The C++ IPC transports: one harness, one set of rules, so they can be ranked together.
    memcpy is not IPC and the Python rows are measured by another program."""
    return tp.in_families(run.transports(), tp.PIPE, tp.LEVER, tp.RIVAL)


def better(metric: Metric, a: float, b: float) -> bool:
    return a > b if metric.higher_is_better else a < b


def peak(run: Run, metric: Metric, candidates: Sequence[str]) -> Optional[Tuple[str, int, float]]:
    """(transport, size, value) of the best value any candidate reached at any size."""
    best = None
    for size in run.sizes(metric.workload):
        ranked = ranking(run, metric, size, candidates)
        if ranked and (best is None or better(metric, ranked[0][1], best[2])):
            best = (ranked[0][0], size, ranked[0][1])
    return best


# Size bands as the report names them. Sizes between the named points (2 KiB, 128 KiB) go to
# the band below/above so that every size belongs to exactly one band.
BANDS = [
    ("small", "≤ 1 KiB", lambda s: s <= 1024),
    ("medium", "4–64 KiB", lambda s: 1024 < s <= 64 * 1024),
    ("large", "≥ 256 KiB", lambda s: s > 64 * 1024),
]


def bands(sizes: Sequence[int]) -> List[Tuple[str, str, List[int]]]:
    """[(name, range label, sizes in it)] for the bands that hold at least one size."""
    out = []
    for name, label, member in BANDS:
        inside = [s for s in sizes if member(s)]
        if inside:
            out.append((name, label, inside))
    return out


KEY_SIZES = (64, 64 << 10, 1 << 20, 16 << 20)


def key_sizes(sizes: Sequence[int], wanted: int = 4) -> List[int]:
    """The sizes to single out: 64 B, 64 KiB, 1 MiB and 16 MiB where measured; otherwise the
    smallest, the largest and evenly spaced ones between."""
    present = sorted(set(sizes))
    chosen = [s for s in KEY_SIZES if s in present]
    if chosen or not present:
        return chosen
    if len(present) <= wanted:
        return present
    step = (len(present) - 1) / (wanted - 1)
    return sorted({present[round(i * step)] for i in range(wanted)})


@dataclass(frozen=True)
class LeverStep:
    transport: str
    reference: Optional[str]  # what this step is compared with (the ladder's previous step)
    value: Optional[float]
    vs_naive: Optional[float]  # advantage over naive_pipe
    vs_reference: Optional[float]  # advantage over `reference`


def lever_steps(run: Run, metric: Metric, size: int) -> List[LeverStep]:
    """Every rung of the ablation ladder at `size` that has a row (value None if it errored)."""
    have = set(run.transports(metric.workload))
    steps = []
    for transport, reference in tp.LEVER_LADDER:
        if transport not in have:
            continue
        steps.append(LeverStep(
            transport, reference, value(run, metric, transport, size),
            None if transport == "naive_pipe" else advantage(run, metric, transport,
                                                            "naive_pipe", size),
            None if reference is None else advantage(run, metric, transport, reference, size)))
    return steps
