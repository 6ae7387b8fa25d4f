"""The report's section on open-loop latency (pipebench's `openloop` workload): each transport
sends at fixed shares of its own peak rate, one message every 1/rate whatever the receiver does,
and each message's latency runs from its intended send time to the receiver's check of it. A
closed-loop ping-pong waits for every answer before it sends again, so a stalled receiver stalls
the sender too and the queue a steady stream would build never forms; here it forms, and each
message that waited in it counts. The section draws p50, p99 and p99.9 against the offered rate,
and gives each transport's highest offered rate whose p99 stayed under 100 µs and under 1 ms.

The harness names the rows `openloop/<transport>/bytes:<N>/load:<percent>`; results.py keys each
load as a benchmark of its own, under the workload `at(load)` ("openloop@50%"), so that every
section, the failure list and the header's repetition count see one benchmark per load.
"""
from __future__ import annotations

import dataclasses
import statistics
from typing import Dict, List, Optional, Sequence, Tuple

from cells import Lines, marks, size_label, table
from results import Measurement, Run, ScaledWorkload
from units import fmt_ns, fmt_rate, human_size

WORKLOAD = "openloop"
PERCENTILES = (("p50", "lat_p50_ns"), ("p99", "lat_p99_ns"), ("p99.9", "lat_p999_ns"))
P99 = "lat_p99_ns"
BOUNDS_NS = (100_000, 1_000_000)  # the p99 budgets the section answers for: 100 µs and 1 ms
# Below this share of its offered rate a transport fell behind: its queue grew all run long.
KEPT_UP = 0.95


OPENLOOP = ScaledWorkload(WORKLOAD, "%")


def at(load: int) -> str:
    """The workload under which the measurements of one load are keyed: 'openloop@50%'."""
    return OPENLOOP.at(load)


def load_of(workload: str) -> Optional[int]:
    return OPENLOOP.scale_of(workload)


def loads(run: Run) -> List[int]:
    """The loads measured in this run (percent of peak), lowest first."""
    return OPENLOOP.scales(run)


def transports(run: Run) -> List[str]:
    return OPENLOOP.transports(run)


def sizes(run: Run) -> List[int]:
    return OPENLOOP.sizes(run)


@dataclasses.dataclass(frozen=True)
class Point:
    """One transport at one size and load, from the median of its successful repetitions."""
    load: int
    offered: float  # messages per second
    achieved: float
    latency: Dict[str, float]  # counter -> ns

    @property
    def kept_up(self) -> bool:
        return self.achieved >= KEPT_UP * self.offered


def point(run: Run, transport: str, size: int, load: int) -> Optional[Point]:
    """None when the benchmark has no successful repetition (or lacks its counters)."""
    m = run.get(at(load), transport, size)
    if m is None or not m.ok:
        return None
    c = m.counters
    needed = ["offered_msgs_per_s", "achieved_msgs_per_s"] + [k for _n, k in PERCENTILES]
    if any(k not in c for k in needed):
        return None
    return Point(load, c["offered_msgs_per_s"], c["achieved_msgs_per_s"],
                 {k: c[k] for _n, k in PERCENTILES})


def curve(run: Run, transport: str, size: int) -> List[Point]:
    """The transport's points at `size`, by load: what the chart draws."""
    return [p for p in (point(run, transport, size, load) for load in loads(run)) if p]


def peak(run: Run, transport: str, size: int) -> Optional[float]:
    """The peak (messages per second) the loads were shares of: the median over every
    successful row (each repetition records the one its run used)."""
    found = [m.counters["peak_msgs_per_s"] for load in loads(run)
             for m in [run.get(at(load), transport, size)]
             if m is not None and m.ok and "peak_msgs_per_s" in m.counters]
    return statistics.median(found) if found else None


def highest_under(pts: Sequence[Point], bound_ns: float) -> Optional[Point]:
    """The point of highest offered rate whose p99 is under `bound_ns`, among those measured."""
    under = [p for p in pts if p.latency[P99] < bound_ns]
    return max(under, key=lambda p: p.offered) if under else None


# -- the section --------------------------------------------------------------------------------

TITLE = "Open-loop latency: delay at a fixed offered load"


def section(run: Run) -> Lines:
    """The section."""
    out = [f"## {TITLE}", ""]
    if not loads(run):
        return out + ["Not measured in this run: run `./scripts/bench --openloop`, or `pipebench "
                      "--workloads=openloop` (loads from `--loads`, default 10,50,90).", ""]
    out += [
        "Each transport sent at fixed shares of its own peak at that size (the messages per "
        "second of a throughput run just before, in the table), one message every 1/rate "
        "whether or not the receiver had kept up. A message's latency runs from its *intended* "
        "send time to the receiver's check of it: one-way, and including any time it waited "
        "behind earlier messages. A closed-loop ping-pong hides that wait (its sender waits for "
        "each answer, so a stall delays one round trip and the messages that would have queued "
        "behind it are never sent); here every message due during a stall counts it. Each cell "
        "is p50 / p99 / p99.9; ⚠ the transport fell behind that load (below), other marks as "
        "explained at the top.", ""]
    for size in sizes(run):
        out += _size_table(run, size)
    out += _budgets(run)
    out += _fell_behind(run)
    return out


def _latencies(run: Run, transport: str, size: int, load: int) -> str:
    p = point(run, transport, size, load)
    m = run.get(at(load), transport, size)
    if p is None:
        return "—" if m is None else "skipped" if m.skipped else "error" if not m.ok else "n/a"
    text = " / ".join(fmt_ns(p.latency[k]) for _n, k in PERCENTILES)
    return text + marks(run, at(load), transport, size) + ("" if p.kept_up else " ⚠")


def _size_table(run: Run, size: int) -> Lines:
    chosen = [t for t in transports(run) if any(run.get(at(load), t, size) for load in loads(run))]
    rows = []
    for t in chosen:
        top = peak(run, t, size)
        rows.append([f"`{t}`", "—" if top is None else fmt_rate(top)] +
                    [_latencies(run, t, size, load) for load in loads(run)])
    return [f"**{size_label(run, size, chosen)} messages**", ""] + table(
        ["transport", "peak"] + [f"{load}% of peak" for load in loads(run)], rows) + [""]


def _budget_cell(pts: Sequence[Point], bound_ns: float) -> str:
    best = highest_under(pts, bound_ns)
    if best is None:
        low = min(pts, key=lambda p: p.offered)
        return f"none measured (p99 {fmt_ns(low.latency[P99])} at {low.load}%)"
    text = f"{fmt_rate(best.offered)} ({best.load}%"
    return text + (", the highest load run)" if best.load == max(p.load for p in pts) else ")")


def _budgets(run: Run) -> Lines:
    rows = []
    for size in sizes(run):
        for t in transports(run):
            pts = curve(run, t, size)
            if pts:
                rows.append([f"`{t}`", human_size(size)] +
                            [_budget_cell(pts, bound) for bound in BOUNDS_NS])
    if not rows:
        return ["No open-loop benchmark succeeded in this run (the reasons are under *Not "
                "measured, skipped and failed*).", ""]
    return ["**The highest offered rate whose p99 stayed under a budget**, among the loads "
            "measured (a rate between two loads was not tried, so the true limit lies between "
            "the one given and the next load up):", ""] + table(
        ["transport", "size"] + [f"p99 < {fmt_ns(b)}" for b in BOUNDS_NS], rows) + [""]


def _fell_behind(run: Run) -> Lines:
    behind = [(t, s, p) for s in sizes(run) for t in transports(run)
              for p in curve(run, t, s) if not p.kept_up]
    if not behind:
        return [f"Every transport kept up with every load offered (achieved at least "
                f"{KEPT_UP:.0%} of the offered rate).", ""]
    return [f"⚠ **Fell behind**: achieved under {KEPT_UP:.0%} of the rate offered, so its "
            "queue grew for the whole run and its latency grows with the run's length (not a "
            "steady state): " + "; ".join(
                f"`{t}` {human_size(s)} at {p.load}% ({fmt_rate(p.achieved)} of "
                f"{fmt_rate(p.offered)})" for t, s, p in behind) +
            ". The peak is a stream's, whose sender may hand the transport many messages per "
            "call; here each message is sent and flushed on its own, at its time.", ""]
