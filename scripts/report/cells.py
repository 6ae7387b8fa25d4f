"""How REPORT.md writes one measured value, or its absence: a value in its metric's unit with
its marks, a size as a column heading, why a cell is empty, a ratio the rule accepts (or "tie"),
and the Markdown table itself.

Every section (report.py and the section modules beside it) writes values through these, so that
a value, its marks and an empty cell read the same in every table of the report.
"""
from __future__ import annotations

from typing import List, Optional, Sequence

import analysis as an
import transports as tp
from results import Run
from units import fmt_gibs, fmt_ns, fmt_number, fmt_rate, fmt_ratio, human_size

Lines = List[str]  # a section of the report, one Markdown line each

# Marks in tables (explained once, in the section at the top).
CACHE_MARK = "°"  # after a size: it may have been cache-resident
SHORT_MARK = "†"  # after a value: fewer successful repetitions than requested
SAME_CODE_MARK = "‡"  # after a value: the transport ran another's code at this size
DISTURBED_MARK = "§"  # after a value: it rests on repetitions the hypervisor disturbed


def value_text(metric: an.Metric, v: float, unit: bool = True) -> str:
    """A value in the metric's unit; `unit=False` for table columns whose header names it."""
    if metric.unit == "ns":
        return fmt_ns(v)  # the unit varies (ns, µs, ms), so it always stays
    if metric.unit == "/s":
        return fmt_rate(v)
    if not unit:
        return fmt_number(v)
    if metric.unit == "GiB/s":
        return fmt_gibs(v)
    return f"{fmt_number(v)} {metric.unit}"


def marks(run: Run, workload: str, transport: str, size: int) -> str:
    """† when the value rests on fewer repetitions than requested, § on disturbed ones (too
    few calm), ‡ when it is another transport's code (the noise-floor twin is that by
    definition and needs no mark)."""
    m = run.get(workload, transport, size)
    out = SHORT_MARK if m is not None and m.short else ""
    if m is not None and m.ok and m.disturbed:
        out += DISTURBED_MARK
    if tp.same_code_as(transport, size) and tp.get(transport).family != tp.CONTROL:
        out += SAME_CODE_MARK
    return out


def size_label(run: Run, size: int, transports: Optional[Sequence[str]] = None) -> str:
    """A size for a table or a heading, marked when it may have been cache-resident."""
    return human_size(size) + (CACHE_MARK if an.cache_resident(run, size, transports) else "")


def absent(run: Run, workload: str, transport: str, size: int) -> str:
    """Why there is no value, in words fit for a sentence."""
    m = run.get(workload, transport, size)
    if m is None:
        return "not measured in this run"
    return m.error if m.skipped else f"failed: {m.error}"


def cell(run: Run, metric: an.Metric, transport: str, size: int, unit: bool = True) -> str:
    """A table cell: the value with its marks, or a one-word reason."""
    v = an.value(run, metric, transport, size)
    if v is not None:
        return value_text(metric, v, unit) + marks(run, metric.workload, transport, size)
    m = run.get(metric.workload, transport, size)
    if m is None:
        return "—"
    if m.ok:
        return "n/a"  # measured, but without this counter
    return "skipped" if m.skipped else "error"


def named(run: Run, metric: an.Metric, transport: str, size: int) -> str:
    """'`t` 8.00 GiB/s' with the value's marks, for tables that name the transport."""
    return f"`{transport}` {cell(run, metric, transport, size)}"


def say(run: Run, metric: an.Metric, transport: str, size: int) -> str:
    """'`t` (8.00 GiB/s)' or '`t` (not measured in this run)'."""
    v = an.value(run, metric, transport, size)
    what = (value_text(metric, v) if v is not None
            else absent(run, metric.workload, transport, size))
    return f"`{transport}` ({what})"


def gain(c: an.Comparison) -> str:
    """A ratio the rule accepts, '2.00×', or 'tie': a ratio it does not accept is not shown, so
    that it cannot be read as a gain (the values are in the appendix)."""
    return fmt_ratio(c.advantage) if c.different else "tie"


def gain_at(c: Optional[an.Comparison], run: Run, metric: an.Metric, t: str, size: int) -> str:
    """'2.00× at 1 MiB', 'a tie at 64 B', or why there is no ratio at that size."""
    if c is None:
        return f"{absent(run, metric.workload, t, size)} at {human_size(size)}"
    if c.tie:
        return f"a tie at {human_size(size)}"
    return f"{fmt_ratio(c.advantage)} at {human_size(size)}"


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> Lines:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out


def tied_names(leaders) -> str:
    """'`a`, `b`' from a standing's leaders ([(transport, value)])."""
    return ", ".join(f"`{t}`" for t, _v in leaders)
