#!/usr/bin/env python3
"""A plain per-benchmark comparison of two runs, for when Google Benchmark's compare.py (or the
numpy/scipy it needs) is not installed.

Usage: compare_table.py RUN_A RUN_B [--file pipebench.json]

For every benchmark in both runs: time per iteration and bytes per second in A and in B, and
B / A for each. Values are what the report uses (the median when there were repetitions).
A time ratio below 1, or a bytes/s ratio above 1, means B is faster.
"""
from __future__ import annotations

import argparse
import math
import os
import signal
import sys
from typing import List, Optional

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import transports as tp  # noqa: E402
from results import RESULT_FILES, Measurement, Run, load_run  # noqa: E402
from units import fmt_gibs, fmt_ns  # noqa: E402


def _name(m: Measurement) -> str:
    return f"{m.workload}/{m.transport}/bytes:{m.size}"


def _time(m: Optional[Measurement]) -> Optional[float]:
    return m.real_time_ns() if m is not None and m.ok else None


def _bps(m: Optional[Measurement]) -> Optional[float]:
    return m.counters.get("bytes_per_second") if m is not None and m.ok else None


def _show(m: Optional[Measurement], v: Optional[float], fmt) -> str:
    if v is not None:
        return fmt(v)
    if m is None:
        return "—"
    return "skipped" if m.skipped else ("error" if not m.ok else "—")


def _ratio(a: Optional[float], b: Optional[float]) -> str:
    return f"{b / a:.3f}" if a and b else "—"


def table(a: Run, b: Run, source: str) -> List[str]:
    keys = sorted({k for k, m in a.measurements.items() if m.source == source} |
                  {k for k, m in b.measurements.items() if m.source == source},
                  key=lambda k: (k[0], tp.sort_key(k[1]), k[2]))
    rows = [("benchmark", "time A", "time B", "B/A", "bytes/s A", "bytes/s B", "B/A")]
    time_ratios = []
    for key in keys:
        ma, mb = a.measurements.get(key), b.measurements.get(key)
        ta, tb, ba, bb = _time(ma), _time(mb), _bps(ma), _bps(mb)
        if ta and tb:
            time_ratios.append(tb / ta)
        gib = lambda v: fmt_gibs(v / (1 << 30))  # noqa: E731
        rows.append((_name(ma or mb), _show(ma, ta, fmt_ns), _show(mb, tb, fmt_ns),
                     _ratio(ta, tb), _show(ma, ba, gib), _show(mb, bb, gib), _ratio(ba, bb)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = [f"== {source}: A = {a.directory}, B = {b.directory}"]
    for i, r in enumerate(rows):
        out.append("  ".join(c.ljust(w) if j == 0 else c.rjust(w)
                             for j, (c, w) in enumerate(zip(r, widths))))
        if i == 0:
            out.append("  ".join("-" * w for w in widths))
    if time_ratios:
        geo = math.exp(sum(math.log(r) for r in time_ratios) / len(time_ratios))
        verdict = "B faster" if geo < 1 else "B slower" if geo > 1 else "no change"
        out.append(f"geometric mean of time B/A over {len(time_ratios)} benchmarks: {geo:.3f} "
                   f"({verdict}); time below 1 or bytes/s above 1 = B faster; "
                   "— = not in that run (or no such counter)")
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_a")
    parser.add_argument("run_b")
    parser.add_argument("--file", choices=RESULT_FILES,
                        help="compare only this file (default: every file both runs have)")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `| head` ends the output quietly
    a, b = load_run(args.run_a), load_run(args.run_b)
    files = [f for f in RESULT_FILES if f in a.files and f in b.files
             and args.file in (None, f)]
    if not files:
        print(f"error: {args.run_a} and {args.run_b} have no result file in common"
              + (f" ({args.file})" if args.file else ""), file=sys.stderr)
        return 1
    for f in files:
        print("\n".join(table(a, b, f)))
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
