"""Throughput as the processes multiply: a throughput workload run by a crowd of processes at
once, at several counts (the many-pairs section's pair counts, the worker-pools section's worker
counts). Whatever the crowd is made of, its section asks the same questions of the run: the
aggregate at each count, its scaling from the fewest to the most (held against the crowd's own
noise floor: the noise-floor twin run the same way, since sharing a CPU adds noise of its own),
the slowest member's share of the members' mean, who moved the most and whose members shared
least evenly, and from which count on the processes oversubscribed the CPUs they ran on.

A `Crowd` names what differs between such sections: the workloads (one for pairs; fanout and
fanin for pools), the share counter, the nouns, and how its processes were placed. The section
modules (pairs.py, pools.py) say what their crowd is and how to measure it; the tables, the
sentences and charts.crowd_throughput come from here, so the two sections cannot drift apart.
"""
from __future__ import annotations

import dataclasses
from typing import Callable, List, Optional, Sequence, Tuple

import analysis as an
import transports as tp
from cells import Lines, cell, gain, marks, size_label, table, value_text
from results import Run, ScaledWorkload
from transports import roles
from units import fmt_ratio, human_size


@dataclasses.dataclass(frozen=True)
class Crowd:
    workloads: Tuple[ScaledWorkload, ...]  # each keyed per count by results.parse_name
    share_counter: str  # the slowest member's rate over the members' mean (1 is even)
    one: str  # a member: 'pair', 'worker'
    many: str  # members: 'pairs', 'workers'
    symbol: str  # the count in formulas: 'P', 'W'
    twin_ran_as: str  # how the noise-floor twin ran too: 'pairs', 'worker pools'
    processes: Callable[[int], int]  # how many processes a benchmark of `count` members ran
    # How the pinned processes shared the CPUs, given (first CPU, second CPU) of --cpus.
    pinned_text: Callable[[int, int], str]
    unpinned_text: str  # how many processes a count is, when unpinned: '*P* pairs are 2×*P* ...'

    # -- the figures ---------------------------------------------------------------------------

    def counts(self, run: Run, workload: Optional[ScaledWorkload] = None) -> List[int]:
        """The member counts measured in this run (of one workload, or of any), fewest first."""
        chosen = self.workloads if workload is None else (workload,)
        return sorted({c for w in chosen for c in w.scales(run)})

    def transports(self, run: Run) -> List[str]:
        return tp.ordered({t for w in self.workloads for t in w.transports(run)})

    def aggregate(self, workload: ScaledWorkload, count: int) -> an.Metric:
        """All members' bytes together, at `count` members."""
        return dataclasses.replace(an.THROUGHPUT, workload=workload.at(count),
                                   label=f"aggregate throughput, {self.counts_text([count])}")

    def share(self, workload: ScaledWorkload, count: int) -> an.Metric:
        """The slowest member's rate over the members' mean at `count`: 1 is perfectly even."""
        return an.Metric(f"slowest {self.one}'s share, {self.counts_text([count])}",
                         workload.at(count), self.share_counter, True, "")

    def scaling(self, run: Run, workload: ScaledWorkload, transport: str, size: int, low: int,
                high: int) -> Optional[an.Comparison]:
        """The aggregate at `high` members against `low` under the report's rule (advantage:
        high ÷ low), or None when either has no value. The gap is held against the wider of
        the two counts' noise floors: the same code measured twice under each crowd."""
        lo, hi = self.aggregate(workload, low), self.aggregate(workload, high)
        floor_of = max((lo, hi), key=lambda m: an.noise_floor(run, m) or 0)
        return an.compare_samples(run, floor_of, an.samples(run, hi, transport, size),
                                  an.samples(run, lo, transport, size))

    def oversubscribed(self, run: Run, pinned: bool = True) -> Optional[List[int]]:
        """The counts at which more processes than CPUs had to share the CPUs they ran on (None
        when the run recorded neither its pinning nor its CPU count). Pinned, the members share
        one CPU (per role), so any count above one oversubscribes it; `pinned=False` asks about
        processes the harness did not pin (the scheduler's to place on every CPU)."""
        if pinned and pinned_cpus(run) is not None:
            return [c for c in self.counts(run) if c > 1]
        cores = run.cores()
        return None if cores is None else [c for c in self.counts(run)
                                           if self.processes(c) > cores]

    def counts_text(self, chosen: Sequence[int]) -> str:
        """'1 pair', '2 workers and 4 workers'."""
        names = [f"{c} {self.one if c == 1 else self.many}" for c in chosen]
        return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]

    def workload_names(self) -> str:
        return " or ".join(w.name for w in self.workloads)

    def has_rows(self, run: Run) -> bool:
        return bool(self.counts(run))


def pinned_cpus(run: Run) -> Optional[List[int]]:
    """[first CPU, second CPU] of --cpus as the run recorded them; None when unpinned or
    unknown ("-1,-1" is the harness's "left unpinned")."""
    cpus = (run.fact("pipebench_cpus") or "").split(",")
    if len(cpus) != 2 or not all(c.strip().isdigit() for c in cpus):
        return None
    return [int(c) for c in cpus]


# -- the section's parts -----------------------------------------------------------------------


def body(crowd: Crowd, run: Run, opening: str, after_cpus: Sequence[str] = ()) -> Lines:
    """Everything below a crowd section's heading when it has rows: `opening` (what one
    benchmark ran and what a cell is), the CPUs, any `after_cpus` paragraphs, the noise floor,
    then per workload and size a table and who moved the most."""
    counts = crowd.counts(run)
    low, high = counts[0], counts[-1]
    out = [opening + _columns(crowd, low, high), "", cpus(crowd, run), ""]
    for paragraph in after_cpus:
        out += [paragraph, ""]
    out += [noise(crowd, run), ""]
    for workload in crowd.workloads:
        own = crowd.counts(run, workload)
        if not own:
            continue
        for size in workload.sizes(run):
            out += _size_table(crowd, run, workload, size, own[0], own[-1])
            out += _most_and_least_even(crowd, run, workload, size, own[-1])
    return out


def _columns(crowd: Crowd, low: int, high: int) -> str:
    """The rest of the opening: what the scaling and share columns are, and the empty cells."""
    one, many = crowd.one, crowd.many
    return ((f"; *scaling {low}→{high}* is the aggregate at {high} {many} over the aggregate "
             f"at {low}, written \"tie\" where the rule at the top cannot tell them apart; "
             f"*slowest {one}'s share* is the slowest {one}'s rate over the {many}' mean (1 is "
             f"perfectly even, 0.5 a {one} that moved half the average)" if high > low else "") +
            ". — not measured in this run; *skipped* the transport cannot run that way; *error* "
            "every repetition failed (reasons under *Not measured, skipped and failed*); marks "
            "as explained at the top.")


def cpus(crowd: Crowd, run: Run) -> str:
    """What the counts measure on this machine: the CPUs the processes shared, and from which
    count on they oversubscribed them."""
    cores, pinned, crowded = run.cores(), pinned_cpus(run), crowd.oversubscribed(run)
    machine = (f"This machine has {cores} CPUs" if cores else
               "This run did not record the machine's CPU count")
    if pinned is not None:
        text = f"{machine}, and {crowd.pinned_text(pinned[0], pinned[1])}"
    elif cores:
        text = f"{machine} and the {crowd.many} ran unpinned: {crowd.unpinned_text}"
    else:
        return (f"{machine}, nor whether the {crowd.many} were pinned: what *{crowd.symbol}* "
                f"{crowd.many} cost cannot be told.")
    if not crowded:
        return text + f", so no {crowd.one} count measured here oversubscribed the CPUs."
    return (text + f", so the rows at {crowd.counts_text(crowded)} measure oversubscription (how "
            "a transport behaves when its processes must take turns on a CPU: who yields, who "
            "spins, who starves), not how it would scale on a machine with more cores.")


def noise(crowd: Crowd, run: Run) -> str:
    """The crowd's own noise floor at each count (the twin run the same way), or that there is
    none. The single-pair throughput floor is not borrowed: sharing a CPU adds noise of its own."""
    parts, any_floor = [], False
    for workload in crowd.workloads:
        floors = [(c, an.noise_floor(run, crowd.aggregate(workload, c)))
                  for c in crowd.counts(run, workload)]
        if not floors:
            continue
        found = [(c, f) for c, f in floors if f is not None]
        any_floor = any_floor or bool(found)
        text = (", ".join(f"{fmt_ratio(f)} at {crowd.counts_text([c])}" for c, f in found) +
                "".join(f"; no twin at {crowd.counts_text([c])}" for c, f in floors
                        if f is None)).lstrip("; ")
        parts.append(text if len(crowd.workloads) == 1 else f"{workload.name} {text}")
    if any_floor:
        return (f"Noise floor of the aggregate (`{roles.noise_twin}` against `{roles.lead}`, "
                f"both run as {crowd.twin_ran_as}; the widest gap at any size): " +
                "; ".join(parts) + f". A scaling ratio must clear the wider floor of its two "
                f"{crowd.one} counts.")
    text = (f"This run has no `{roles.noise_twin}` {crowd.workload_names()} rows, so the scaling "
            "ratios were not tested against a noise floor: only their repetitions' overlap "
            "makes a tie")
    if all(m.ran <= 1 for m in run.measurements.values()
           if any(w.scale_of(m.workload) is not None for w in crowd.workloads)):
        text += ", and with one repetition each, every ratio is one run's: read it with suspicion"
    return text + "."


def _size_table(crowd: Crowd, run: Run, workload: ScaledWorkload, size: int, low: int,
                high: int) -> Lines:
    counts = crowd.counts(run, workload)
    chosen = [t for t in workload.transports(run)
              if any(run.get(workload.at(c), t, size) for c in counts)]
    header = ["transport"] + [crowd.counts_text([c]) for c in counts]
    if high > low:
        header += [f"scaling {low}→{high}", f"slowest {crowd.one}'s share at {high}"]
    rows = []
    for t in chosen:
        row = [f"`{t}`"] + [cell(run, crowd.aggregate(workload, c), t, size) for c in counts]
        if high > low:
            c = crowd.scaling(run, workload, t, size, low, high)
            row += ["—" if c is None else gain(c),
                    cell(run, crowd.share(workload, high), t, size, unit=False)]
        rows.append(row)
    where = "" if len(crowd.workloads) == 1 else f"{workload.name}, "
    return [f"**{where}{size_label(run, size, chosen)} messages**", ""] + table(header, rows) + [""]


def _most_and_least_even(crowd: Crowd, run: Run, workload: ScaledWorkload, size: int,
                         high: int) -> Lines:
    """Who moved the most at the most members, and whose members shared the CPUs least evenly,
    as analysis.standing ranks them (ties by the rule named in full)."""
    candidates = workload.transports(run)
    most_metric = crowd.aggregate(workload, high)
    most = an.standing(run, most_metric, size, candidates)
    where = "" if len(crowd.workloads) == 1 else f" in {workload.name}"
    if most is None:
        return [f"No transport has a figure with {crowd.counts_text([high])}{where} at "
                f"{human_size(size)}.", ""]
    text = (f"With {crowd.counts_text([high])} of {human_size(size)} messages{where} the most "
            f"moved (all {crowd.many} together): " + _leaders(run, most_metric, size, most))
    if high > 1:
        # The least even is the "best" of the share ranked the other way round.
        share = crowd.share(workload, high)
        least = an.standing(run, dataclasses.replace(share, higher_is_better=False), size,
                            candidates)
        if least is not None and least.others:
            text += (f"; the least even (the slowest {crowd.one}'s share of the {crowd.many}' "
                     "mean): " + _leaders(run, share, size, least))
        elif least is not None:
            text += (f"; no transport's {crowd.many} shared the CPUs less evenly than another's "
                     "by the rule")
    return [text + ".", ""]


def _leaders(run: Run, metric: an.Metric, size: int, standing: an.Standing) -> str:
    """'`a` (9.00 GiB/s)', or 'tie: `a` (9.00 GiB/s), `b` (8.90 GiB/s)', with the values'
    marks."""
    said = [f"`{t}` ({value_text(metric, v, unit=bool(metric.unit))}"
            f"{marks(run, metric.workload, t, size)})" for t, v in standing.leaders]
    return ("tie: " if standing.tie else "") + ", ".join(said)
