"""Figures derived from a run: metrics, the noise floor, whether two transports differ at all,
who is better by how much, winners, size bands, levers, the Python pairs, and how far a figure
can be trusted (cache residency, CPU steal).

Charts and the report both ask these questions; answering them here once keeps a ratio in a
chart and the same ratio in the report from ever disagreeing, and `compare` is the one place
that says whether a gap is real (RULE). Every function returns None (or leaves an entry out)
where a value is not measured or errored: nothing here invents a number.
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Callable, List, Optional, Sequence, Tuple

import transports as tp
from transports import roles
from results import DISTURBED_STEAL_PCT, MIN_UNDISTURBED, Measurement, Repetition, Run
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
    """The median of the successful repetitions, in the metric's unit (None if there is none)."""
    raw = run.value(metric.workload, transport, size, metric.counter)
    return None if raw is None else metric.scale(raw)


def samples(run: Run, metric: Metric, transport: str, size: int) -> List[float]:
    """Each successful repetition's value, in the metric's unit."""
    return [metric.scale(v) for v in run.samples(metric.workload, transport, size, metric.counter)]


def advantage(run: Run, metric: Metric, a: str, b: str, size: int) -> Optional[float]:
    """How many times better `a` is than `b` (> 1: a is better), whichever way the metric runs."""
    va, vb = value(run, metric, a, size), value(run, metric, b, size)
    if va is None or vb is None or va <= 0 or vb <= 0:
        return None
    return va / vb if metric.higher_is_better else vb / va


def fraction(run: Run, metric: Metric, a: str, of: str, size: int) -> Optional[float]:
    """a's value as a fraction of `of`'s (a plain quotient, e.g. the lead ÷ the yardstick)."""
    va, vb = value(run, metric, a, size), value(run, metric, of, size)
    if va is None or vb is None or vb == 0:
        return None
    return va / vb


# -- the noise floor, and the one rule that says whether two transports differ ----------------


@dataclass(frozen=True)
class TwinGap:
    """The same code measured twice (the noise-floor twin against the lead) at one size."""
    size: int
    ratio: float  # the twin's median ÷ the lead's
    worst: float  # the largest ratio between any repetition of one and any of the other (>= 1)

    @property
    def gap(self) -> float:
        """The ratio of the medians as a gap (>= 1), whichever of the two came out ahead."""
        return max(self.ratio, 1 / self.ratio)


def twin_gaps(run: Run, metric: Metric) -> List[TwinGap]:
    """At each size where both were measured, how far apart chance put two copies of one code."""
    out = []
    for size in run.sizes(metric.workload, [roles.noise_twin]):
        twin = samples(run, metric, roles.noise_twin, size)
        lead = samples(run, metric, roles.lead, size)
        if not twin or not lead or min(twin + lead) <= 0:
            continue
        out.append(TwinGap(size, statistics.median(twin) / statistics.median(lead),
                           max(max(twin) / min(lead), max(lead) / min(twin))))
    return out


def noise_floor(run: Run, metric: Metric) -> Optional[float]:
    """The run's noise floor for `metric`: the largest gap between the twins' medians at any
    size (None when the twin was not measured)."""
    gaps = twin_gaps(run, metric)
    return max(g.gap for g in gaps) if gaps else None


# The rule, in the words the report prints (kept here, beside the code that applies it).
RULE = ("two transports differ at a size only when the ratio of their medians exceeds the noise "
        "floor and their repetitions do not overlap (every repetition of one is better than "
        "every repetition of the other); otherwise they are a tie")
RULE_WITHOUT_FLOOR = ("two transports differ at a size only when their repetitions do not "
                      "overlap (every repetition of one is better than every repetition of the "
                      "other); otherwise they are a tie")


@dataclass(frozen=True)
class Comparison:
    advantage: float  # how many times better a is than b, medians (> 1: a is better)
    different: bool  # what RULE says: False is a tie, however large the ratio looks

    @property
    def tie(self) -> bool:
        return not self.different


def compare(run: Run, metric: Metric, a: str, b: str, size: int) -> Optional[Comparison]:
    """`a` against `b` at `size` under RULE (None when either has no value). Every "better",
    "wins" and "buys" in the charts and the report is decided here and nowhere else."""
    return compare_samples(run, metric, samples(run, metric, a, size),
                           samples(run, metric, b, size))


def compare_samples(run: Run, metric: Metric, sa: Sequence[float],
                    sb: Sequence[float]) -> Optional[Comparison]:
    """RULE on two sets of repetitions in the metric's unit, the medians standing for the
    values (None when either set is empty or a median is not positive): `compare` for figures
    that are not one benchmark's, as the capacity study's rows that got the same capacity."""
    if not sa or not sb:
        return None
    va, vb = statistics.median(sa), statistics.median(sb)
    if va <= 0 or vb <= 0:
        return None
    adv = va / vb if metric.higher_is_better else vb / va
    apart = max(sa) < min(sb) or max(sb) < min(sa)
    floor = noise_floor(run, metric)
    beyond_floor = floor is None or max(adv, 1 / adv) > floor
    return Comparison(adv, apart and beyond_floor)


# -- rankings --------------------------------------------------------------------------------


def counts_at(transports: Sequence[str], size: int) -> List[str]:
    """The transports that measure code of their own at `size` (not another's, as the batch
    variant above its batching limit, or the noise-floor twin)."""
    return [t for t in transports if tp.same_code_as(t, size) is None]


def ranking(run: Run, metric: Metric, size: int,
            candidates: Sequence[str]) -> List[Tuple[str, float]]:
    """The measured candidates at `size`, best median first."""
    measured = [(t, value(run, metric, t, size)) for t in candidates]
    kept = [(t, v) for t, v in measured if v is not None]
    return sorted(kept, key=lambda tv: (-tv[1] if metric.higher_is_better else tv[1],
                                        tp.sort_key(tv[0])))


@dataclass(frozen=True)
class Standing:
    leaders: List[Tuple[str, float]]  # the best, then every candidate tied with it (RULE)
    others: List[Tuple[str, float]]  # the rest, best first

    @property
    def tie(self) -> bool:
        return len(self.leaders) > 1


def standing(run: Run, metric: Metric, size: int,
             candidates: Sequence[str]) -> Optional[Standing]:
    """Who is best at `size`, with the ties RULE finds (None when no candidate has a value)."""
    ranked = ranking(run, metric, size, counts_at(candidates, size))
    if not ranked:
        return None
    top = ranked[0][0]
    tied = {t for t, _v in ranked[1:] if compare(run, metric, top, t, size).tie}
    return Standing([ranked[0]] + [tv for tv in ranked[1:] if tv[0] in tied],
                    [tv for tv in ranked[1:] if tv[0] not in tied])


def contenders(run: Run) -> List[str]:
    """The C++ IPC transports: one harness, one set of rules, so they can be ranked together.
    The yardstick is not IPC, the noise-floor twin is the lead again, the capacity study is the
    lead (and its loan) again at other pipe sizes, and the Python rows are measured by another
    program."""
    return tp.in_families(run.transports(), tp.PIPE, tp.LEVER, tp.RIVAL)


def better(metric: Metric, a: float, b: float) -> bool:
    return a > b if metric.higher_is_better else a < b


def peak(run: Run, metric: Metric, candidates: Sequence[str]) -> Optional[Tuple[str, int, float]]:
    """(transport, size, value) of the best median any candidate reached at any size, among those
    measuring code of their own there."""
    best = None
    for size in run.sizes(metric.workload):
        ranked = ranking(run, metric, size, counts_at(candidates, size))
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
    same_code_as: Optional[str]  # set where this step runs another's code: it buys nothing here
    vs_baseline: Optional[Comparison]  # against the baseline
    vs_reference: Optional[Comparison]  # against `reference`


def lever_steps(run: Run, metric: Metric, size: int) -> List[LeverStep]:
    """Every rung of the ablation ladder at `size` that has a row (value None if it errored)."""
    have = set(run.transports(metric.workload))
    steps = []
    for transport, reference in tp.LEVER_LADDER:
        if transport not in have:
            continue
        same = tp.same_code_as(transport, size)
        vs_baseline = (None if transport == roles.baseline or same
                       else compare(run, metric, transport, roles.baseline, size))
        vs_reference = (None if reference is None or same
                        else compare(run, metric, transport, reference, size))
        steps.append(LeverStep(transport, reference, value(run, metric, transport, size), same,
                               vs_baseline, vs_reference))
    return steps


# -- Python against C++, like for like -------------------------------------------------------


def python_pairs(run: Run, metric: Metric) -> List[tp.PythonPair]:
    """The like-for-like pairs this run measured for `metric` (both sides have rows)."""
    have = set(run.transports(metric.workload))
    return [p for p in tp.PYTHON_PAIRS if p.python in have and p.cpp in have
            and (metric.workload == "throughput" or p.latency_alike)]


# -- how far to trust a figure: cache residency, disturbed repetitions, spread ---------------

CACHE_FACTOR = 4  # a pool under this many times the last-level cache may have stayed cached


def _pools(run: Run, size: int, transports: Optional[Sequence[str]] = None) -> List[float]:
    """The payload pool of every successful repetition at `size` (of `transports`, if given)."""
    return [p for m in run.measurements.values()
            if m.size == size and (transports is None or m.transport in transports)
            for p in m.samples("pool_bytes")]


def pools_recorded(run: Run) -> bool:
    return any(m.samples("pool_bytes") for m in run.measurements.values())


def cache_resident(run: Run, size: int, transports: Optional[Sequence[str]] = None) -> bool:
    """Whether messages of `size` may have been read from cache: some row's payload pool was
    under CACHE_FACTOR x the last-level cache, or the cache size is unknown. False when the
    rows recorded no pool (the report then says residency is unknown)."""
    pools = _pools(run, size, transports)
    if not pools:
        return False
    llc = run.llc_bytes()
    return llc is None or min(pools) < CACHE_FACTOR * llc


def pool_sizes(run: Run, sizes: Sequence[int]) -> List[Tuple[int, float]]:
    """(size, smallest payload pool of its rows) for each of `sizes` that recorded one."""
    return [(s, min(_pools(run, s))) for s in sizes if _pools(run, s)]


STEAL_LIMIT_PCT = DISTURBED_STEAL_PCT  # results.py: the one threshold for a disturbed repetition


def per_repetition(run: Run, counter: str) -> List[Tuple[Measurement, Repetition, float]]:
    """Every successful repetition that recorded `counter`, with its value, in report order."""
    return [(m, r, r.counters[counter]) for m in run.ordered() for r in m.repetitions
            if counter in r.counters]


def disturbed(run: Run) -> List[Tuple[Measurement, Repetition, float]]:
    """The repetitions during which the hypervisor stole more than STEAL_LIMIT_PCT of the CPU."""
    return [x for x in per_repetition(run, "steal_pct") if x[2] > STEAL_LIMIT_PCT]


def disturbed_values(run: Run) -> List[Measurement]:
    """The benchmarks whose value still rests on disturbed repetitions (too few were calm)."""
    return [m for m in run.ordered() if m.ok and m.disturbed]


def disturbed_slowdown(run: Run) -> Optional[Tuple[float, float, int, int]]:
    """How much longer a disturbed repetition took than its benchmark's median time, against a
    calm one: (median ratio disturbed, median ratio calm, count disturbed, count calm)."""
    ratios: Tuple[List[float], List[float]] = ([], [])
    for m in run.ordered():
        times = [r.counters["real_time"] for r in m.repetitions if "real_time" in r.counters]
        if len(times) < 2 or statistics.median(times) <= 0:
            continue
        mid = statistics.median(times)
        for r in m.repetitions:
            if "real_time" in r.counters and "steal_pct" in r.counters:
                ratios[0 if r.disturbed else 1].append(r.counters["real_time"] / mid)
    if not ratios[0] or not ratios[1]:
        return None
    return (statistics.median(ratios[0]), statistics.median(ratios[1]), len(ratios[0]),
            len(ratios[1]))


def widest_spread(run: Run, metric: Metric) -> Optional[Tuple[Measurement, float]]:
    """The benchmark whose repetitions lay furthest apart (largest max ÷ min), if any had two."""
    best = None
    for m in run.ordered():
        if m.workload != metric.workload:
            continue
        got = [v for v in m.samples(metric.counter) if v > 0]
        if len(got) >= 2 and (best is None or max(got) / min(got) > best[1]):
            best = (m, max(got) / min(got))
    return best
