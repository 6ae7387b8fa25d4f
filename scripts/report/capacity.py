"""The report's section on the pipe-capacity lever (issue 16): what a bigger pipe buys at each
message size, where it stops paying, and what it costs.

The study's rows (transports.CAPACITY: the lead and its loan with the pipe asked at one fixed
capacity each) are named after the capacity they asked for; what a row measured is the capacity
the kernel gave, its pipe_capacity counter, and that is the only capacity used here and in the
chart. A request above pipe-max-size is granted only to a process with CAP_SYS_RESOURCE; without
it the library halves the request until the kernel accepts, so several requests can land on one
capacity. Their repetitions are then one point at the capacity got, marked REFUSED_MARK, never
shown at the capacity asked.

Whether a larger capacity gains anything is analysis.compare_samples' to say (the run's rule and
noise floor), as every gain elsewhere in the report is analysis.compare's.
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import analysis as an
import transports as tp
from cells import Lines, absent, gain, marks, size_label, table, value_text
from results import Run
from units import fmt_gibs, fmt_ratio, human_size, size_list

REFUSED_MARK = "↓"  # after a value: rows that asked for more than they got are in it

# The kernel's defaults, for a run that did not record its host's settings.
KERNEL_PIPE_MAX_SIZE = 1 << 20  # /proc/sys/fs/pipe-max-size
KERNEL_USER_PAGES_SOFT = 16384  # /proc/sys/fs/pipe-user-pages-soft: 16 pages x 1024 files
PAGE_BYTES = 4096  # the harness records no page size: 4 KiB, as on x86-64
STAGING_RING_FACTOR = 2  # the pipes library's staging ring holds at least twice the capacity
PRIVILEGE_FACT = "cap_sys_resource"  # "yes" or "no", where the harness records it


# -- the figures -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Point:
    """The repetitions of one variant at one message size that got one capacity."""
    variant: str  # the transport the study varies: roles.lead or roles.loan
    size: int  # the message size
    capacity: int  # bytes the kernel gave (the pipe_capacity counter)
    rows: Tuple[str, ...]  # the study's transports with repetitions here, smallest request first
    samples: Tuple[float, ...]  # GiB/s, each kept repetition that got `capacity`

    @property
    def value(self) -> float:
        return statistics.median(self.samples)

    @property
    def refused(self) -> Tuple[str, ...]:
        """The rows here that asked for more than the kernel gave."""
        return tuple(t for t in self.rows if tp.capacity_request(t).requested > self.capacity)


def study(run: Run) -> List[str]:
    """The capacity study's transports with throughput rows in this run."""
    return tp.in_families(run.transports("throughput"), tp.CAPACITY)


def points(run: Run, variant: Optional[str] = None) -> List[Point]:
    """Every (variant, message size, capacity got) measured, in that order (of one variant, if
    given). A repetition that recorded no capacity is in no point: unplaced() names it."""
    grouped: Dict[Tuple[str, int, int], Dict[str, List[float]]] = {}
    for t in study(run):
        v = tp.capacity_request(t).variant
        if variant not in (None, v):
            continue
        for s in run.sizes("throughput", [t]):
            for r in run.get("throughput", t, s).kept:
                got, bps = r.counters.get("pipe_capacity"), r.counters.get(an.THROUGHPUT.counter)
                if got is not None and bps is not None:
                    grouped.setdefault((v, s, int(got)), {}).setdefault(t, []).append(
                        an.THROUGHPUT.scale(bps))
    out = []
    for (v, s, c), by_row in grouped.items():
        rows = tuple(sorted(by_row, key=lambda t: tp.capacity_request(t).requested))
        out.append(Point(v, s, c, rows, tuple(x for t in rows for x in by_row[t])))
    order = list(tp.CAPACITY_VARIANTS)
    return sorted(out, key=lambda p: (order.index(p.variant), p.size, p.capacity))


def unplaced(run: Run, variant: Optional[str] = None) -> List[Tuple[str, int, str]]:
    """(transport, size, why) for each study benchmark with no point: it failed, was skipped,
    or recorded no capacity."""
    out = []
    for t in study(run):
        if variant not in (None, tp.capacity_request(t).variant):
            continue
        for s in run.sizes("throughput", [t]):
            m = run.get("throughput", t, s)
            if not m.ok:
                out.append((t, s, absent(run, "throughput", t, s)))
            elif not m.samples("pipe_capacity"):
                out.append((t, s, "no pipe_capacity recorded"))
    return out


def at_size(pts: Sequence[Point], variant: str, size: int) -> List[Point]:
    """One variant's points at one message size, smallest capacity first."""
    return [p for p in pts if p.variant == variant and p.size == size]


def default_capacity(run: Run, variant: str, size: int) -> Optional[int]:
    """The capacity the variant got with its default options (pipe-max-size) at `size`."""
    v = run.value("throughput", variant, size, "pipe_capacity")
    return None if v is None else int(v)


def over_default(run: Run, p: Point) -> Optional[an.Comparison]:
    """The point against its variant at its default capacity, same message size, by the rule."""
    return an.compare_samples(run, an.THROUGHPUT, p.samples,
                              an.samples(run, an.THROUGHPUT, p.variant, p.size))


def _beats(run: Run, a: Point, b: Point) -> bool:
    c = an.compare_samples(run, an.THROUGHPUT, a.samples, b.samples)
    return c is not None and c.different and c.advantage > 1


def enough(run: Run, pts: Sequence[Point]) -> Optional[Point]:
    """Of one variant's points at one message size (smallest capacity first), the capacity
    beyond which nothing more is gained: the smallest that no larger one beats by the rule (a
    gap inside the noise floor, or repetitions that overlap, is no gain)."""
    for i, p in enumerate(pts):
        if not any(_beats(run, q, p) for q in pts[i + 1:]):
            return p
    return None


def refusals(pts: Sequence[Point]) -> List[Tuple[int, List[int], List[str]]]:
    """(capacity got, capacities asked, transports) for each capacity that rows asking for more
    were given instead, smallest first."""
    asked: Dict[int, set] = {}
    rows: Dict[int, set] = {}
    for p in pts:
        for t in p.refused:
            asked.setdefault(p.capacity, set()).add(tp.capacity_request(t).requested)
            rows.setdefault(p.capacity, set()).add(t)
    return [(c, sorted(asked[c]), tp.ordered(rows[c])) for c in sorted(asked)]


@dataclass(frozen=True)
class HostLimit:
    value: int
    recorded: bool  # False: the run did not record it, and `value` is the kernel's default


def pipe_max_size(run: Run) -> HostLimit:
    v = run.fact_int("host_pipe_max_size")
    return HostLimit(KERNEL_PIPE_MAX_SIZE, False) if not v else HostLimit(v, True)


def user_pages_soft(run: Run) -> HostLimit:
    v = run.fact_int("host_pipe_user_pages_soft")
    return HostLimit(KERNEL_USER_PAGES_SOFT, False) if v is None else HostLimit(v, True)


def budget_bytes(run: Run) -> Optional[int]:
    """What an unprivileged user's pipes may hold in all, in bytes; None when the soft limit is
    0, which the kernel takes as no limit."""
    pages = user_pages_soft(run).value
    return pages * PAGE_BYTES if pages else None


def pipes_within(budget: int, capacity: int) -> int:
    """How many pipes of `capacity` fit in `budget` bytes of pipe pages."""
    return budget // capacity


# -- the section -------------------------------------------------------------------------------


def _variant_name(variant: str) -> str:
    return f"{tp.CAPACITY_VARIANTS[variant]} (`{tp.capacity_pattern(variant)}`)"


def capacity_section(run: Run) -> Lines:
    """The section: whether the run could raise capacity at all, throughput by capacity got
    against the default, where a bigger pipe stops paying, and what each capacity costs."""
    out = ["## The pipe-capacity lever: what a bigger pipe buys, and what it costs", ""]
    variants = list(tp.CAPACITY_VARIANTS)
    pts = points(run)
    if not study(run):
        return out + ["This run did not measure the pipe at fixed capacities (" +
                      ", ".join(f"`{tp.capacity_pattern(v)}`" for v in variants) + ").", ""]
    out += _introduction(run, variants)
    out += _privilege(run, pts) + [""]
    for v in variants:
        out += _table(run, v, [p for p in pts if p.variant == v])
        out += _unplaced(run, v)
    out += _where_it_stops(run, pts) if pts else []
    out += _costs(run, pts)
    return out


def _introduction(run: Run, variants: Sequence[str]) -> Lines:
    names = " and ".join(f"`{tp.capacity_pattern(v)}`" for v in variants)
    plain = " and ".join(f"`{v}`" for v in variants)
    defaults = sorted({c for v in variants for s in run.sizes("throughput", [v])
                       if (c := default_capacity(run, v, s)) is not None})
    got = (f"they got {size_list(defaults)} here" if defaults else
           "no capacity is recorded for them in this run")
    return [f"{names} are {plain} with the pipe asked at one capacity each, measured for "
            "throughput only: a lever study, not contenders (they are in no ranking above). "
            "Every figure here stands at the capacity the kernel gave, the rows' "
            "`pipe_capacity` counter, never at the one in the name; the repetitions of rows "
            "that got the same capacity are one point. The default the gains are measured "
            f"against is each variant with its default options, which ask for pipe-max-size: "
            f"{got}.", ""]


def _privilege(run: Run, pts: Sequence[Point]) -> Lines:
    """Whether the run could raise a pipe above pipe-max-size, from what the rows got."""
    limit = pipe_max_size(run)
    pmax = human_size(limit.value) + ("" if limit.recorded else
                                      ", the kernel default: the run did not record its own")
    got = [(t, tp.capacity_request(t).requested, p.capacity) for p in pts for t in p.rows]
    above = [(t, asked, c) for t, asked, c in got if asked > limit.value]
    recorded = run.fact(PRIVILEGE_FACT)
    said = (f" The harness recorded CAP_SYS_RESOURCE: {recorded}." if recorded in ("yes", "no")
            else "")
    if not pts:
        return ["No row of the study has a figure in this run, so it does not show whether "
                "the run could raise a pipe's capacity." + said]
    if not above:
        text = (f"No row of the study asked for more than pipe-max-size ({pmax}), so it does "
                "not show whether this run could go above it.")
    elif all(c <= limit.value for _t, _a, c in above):
        gave = sorted({c for _t, _a, c in above})
        text = (f"**This run could not raise a pipe above pipe-max-size ({pmax}).** Every "
                f"request above it ({size_list(sorted({a for _t, a, _c in above}))}) got "
                f"{size_list(gave)}: the run was not privileged (not root, no CAP_SYS_RESOURCE), "
                f"so those rows show the library's fallback, not the lever. They stand at the "
                f"capacity they got, marked {REFUSED_MARK}. To measure larger capacities, run "
                "the study as root or with CAP_SYS_RESOURCE.")
    elif all(c >= a for _t, a, c in above):
        text = (f"**This run could raise pipes above pipe-max-size ({pmax})** (root or "
                "CAP_SYS_RESOURCE): every request above it got what it asked, up to "
                f"{human_size(max(c for _t, _a, c in above))}.")
    else:
        short = [(t, a, c) for t, a, c in above if c < a]
        text = (f"**Some requests above pipe-max-size ({pmax}) were granted and some were "
                "not**: " + "; ".join(f"`{t}` asked {human_size(a)} and got {human_size(c)}"
                                      for t, a, c in short) +
                f", marked {REFUSED_MARK}; the kernel refused part of what a privileged "
                "process asked (memory, or pipe-user-pages-hard).")
    starved = sorted({(t, c) for t, a, c in got if c < min(a, limit.value)})
    if starved:
        text += (" Less than both its request and pipe-max-size: " +
                 ", ".join(f"`{t}` got {human_size(c)}" for t, c in starved) +
                 ", as when the user's pipe budget (pipe-user-pages-soft) has run out.")
    return [text + said]


def _point_cell(run: Run, p: Point) -> str:
    """'4.00 GiB/s (tie)', '2.00 GiB/s↓ (0.50×)': the value, its marks, the gain over default."""
    found = "".join(marks(run, "throughput", t, p.size) for t in p.rows)
    text = value_text(an.THROUGHPUT, p.value) + "".join(dict.fromkeys(found))
    text += REFUSED_MARK if p.refused else ""
    c = over_default(run, p)
    return text + (f" ({gain(c)})" if c is not None else "")


def _default_cell(run: Run, variant: str, size: int) -> str:
    v = an.value(run, an.THROUGHPUT, variant, size)
    if v is None:
        return ("not measured in this run" if run.get("throughput", variant, size) is None
                else absent(run, "throughput", variant, size))
    c = default_capacity(run, variant, size)
    return (value_text(an.THROUGHPUT, v) + marks(run, "throughput", variant, size) +
            (f" at {human_size(c)}" if c is not None else " (capacity not recorded)"))


def _table(run: Run, variant: str, pts: Sequence[Point]) -> Lines:
    """Message size × capacity got, with the gain over the variant at its default capacity."""
    if not pts:
        return [f"**{_variant_name(variant)}**: no figure in this run.", ""]
    sizes = sorted({p.size for p in pts})
    caps = sorted({p.capacity for p in pts})
    at = {(p.size, p.capacity): p for p in pts}
    rows = [[size_label(run, s, tp.capacity_ids(variant))] +
            ["—" if (s, c) not in at else _point_cell(run, at[(s, c)]) for c in caps] +
            [_default_cell(run, variant, s)] for s in sizes]
    out = [f"**{_variant_name(variant)}**: throughput "
           "by message size and capacity got, and in brackets as a multiple of "
           f"`{variant}` at its default capacity (last column), or \"tie\" where the rule "
           "cannot tell them apart.", ""]
    out += table(["message \\ capacity got"] + [human_size(c) for c in caps] +
                 [f"`{variant}` (default)"], rows)
    for c, asked, transports in refusals(pts):
        out += ["", f"{REFUSED_MARK} {human_size(c)} holds rows that asked for more: " +
                ", ".join(f"`{t}`" for t in transports) + f" asked {size_list(asked)} and "
                f"got {human_size(c)}, so their repetitions are here, at the capacity the pipe "
                "had."]
    return out + [""]


def _unplaced(run: Run, variant: str) -> Lines:
    missing = unplaced(run, variant)
    if not missing:
        return []
    return ["Not in the table: " + "; ".join(f"`{t}` at {human_size(s)} ({why})"
                                             for t, s, why in missing) + ".", ""]


def _where_it_stops(run: Run, pts: Sequence[Point]) -> Lines:
    """(b): for each variant and message size, the capacity beyond which nothing is gained."""
    out = ["**Where a bigger pipe stops paying**: at each message size, the smallest capacity "
           "got that no larger one beats by the rule (a gap inside the noise floor, or "
           "repetitions that overlap, is no gain).", ""]
    budget = budget_bytes(run)
    for v in tp.CAPACITY_VARIANTS:
        for s in sorted({p.size for p in pts if p.variant == v}):
            line = at_size(pts, v, s)
            best = enough(run, line)
            head = f"- {_variant_name(v)}, {human_size(s)} messages: "
            larger = [q for q in line if q.capacity > best.capacity]
            cost = ("" if budget is None else
                    f" {pipes_within(budget, best.capacity)} pipes of "
                    f"{human_size(best.capacity)} fill the {human_size(budget)} budget.")
            if len(line) == 1:
                out.append(head + f"one capacity got ({human_size(best.capacity)}, "
                           f"{fmt_gibs(best.value)}): nothing to compare.")
            elif not larger:
                before = line[-2]
                c = an.compare_samples(run, an.THROUGHPUT, best.samples, before.samples)
                out.append(head + f"still gaining at **{human_size(best.capacity)}**, the "
                           f"largest capacity got ({fmt_gibs(best.value)}, "
                           f"{fmt_ratio(c.advantage)} {human_size(before.capacity)}'s): where "
                           "it stops lies beyond what this run got." + cost)
            else:
                said = []
                for q in larger:
                    c = an.compare_samples(run, an.THROUGHPUT, q.samples, best.samples)
                    said.append(f"{human_size(q.capacity)} {fmt_gibs(q.value)} " +
                                ("(a tie)" if c.tie else f"({fmt_ratio(c.advantage)}, slower)"))
                out.append(head + f"**{human_size(best.capacity)}** ({fmt_gibs(best.value)}); "
                           "larger capacities gain nothing: " + ", ".join(said) + "." + cost)
    return out + [""]


def _costs(run: Run, pts: Sequence[Point]) -> Lines:
    """(c): kernel memory, staging ring and the per-user budget, for each capacity."""
    soft = user_pages_soft(run)
    budget = budget_bytes(run)
    page = human_size(PAGE_BYTES)
    where = ("this run's host" if soft.recorded else
             "the kernel default: this run did not record its host's")
    got = {p.capacity for p in pts}
    asked = {tp.capacity_request(t).requested for t in study(run)}
    caps = sorted(set(tp.PIPE_CAPACITIES) | got)
    rows = []
    for c in caps:
        status = ("got" if c in got else "asked, not got" if c in asked else "not asked")
        rows.append([human_size(c), human_size(c), human_size(STAGING_RING_FACTOR * c),
                     "no limit" if budget is None else str(pipes_within(budget, c)), status])
    if budget is None:
        rule = (f"`pipe-user-pages-soft` = 0 ({where}): the kernel sets no budget, so a user "
                "may hold as many pipes of any capacity up to pipe-max-size as memory allows.")
    else:
        rule = (f"`pipe-user-pages-soft` = {soft.value} pages ({where}), {human_size(budget)} "
                f"with {page} pages (the run does not record the page size; {page} assumed), "
                "shared by every pipe the user has open. Beyond it an unprivileged user's new "
                "pipes get two pages (one before Linux 5.14) and none of their pipes may grow; "
                "CAP_SYS_RESOURCE lifts the budget.")
    text = ("**What a capacity costs.** A pipe holds up to its capacity in kernel memory: its "
            "pages are allocated as bytes are written and stay charged while the bytes sit in "
            "the pipe, so a pipe kept full costs its whole capacity. The capacity also counts "
            "in full against its user's pipe budget from the moment the pipe is sized: " + rule +
            " On top, the pipes library's sender keeps a staging ring for vmsplice of at least "
            f"{STAGING_RING_FACTOR}× the capacity in user memory, per sending connection.")
    within = ("pipes within the budget" if budget is None else
              f"pipes within the {human_size(budget)} budget")
    return [text, ""] + table(["capacity", "kernel memory per pipe (at most)",
                               "staging ring per sending connection (at least)", within,
                               "in this run"], rows) + [""]
