"""The report's section on many pairs at once (pipebench's `pairs` workload): P independent
pairs of one transport, each its own leader and follower process running `throughput`'s stream,
started together. The section gives the pairs' aggregate throughput at each P, how it scales
from the fewest pairs to the most, and how evenly the pairs shared the machine (the slowest
pair's rate over the pairs' mean).

Every leader is pinned to one CPU and every follower to another, so from two pairs on the pairs
oversubscribe those CPUs: the figures show how a transport behaves when processes must share a
CPU (who yields, who spins, who starves), not how it would scale on a machine with more cores.
The section says so with the run's own CPU count and pinning.

The harness names the rows `pairs/<transport>/bytes:<N>/pairs:<P>`; results.py keys each pair
count as a benchmark of its own, under the workload `PAIRS.at(P)` ("pairs@4"), as it keys the
open loop's loads. Whether a scaling ratio is a gain at all, and who moved the most, are
analysis.compare's and analysis.standing's to say, against the pairs' own noise floor (the
noise-floor twin run as pairs too).
"""
from __future__ import annotations

import dataclasses
from typing import List, Optional

import analysis as an
from cells import Lines, cell, gain, marks, size_label, table, value_text
from openloop import ScaledWorkload
from results import Run
from transports import roles
from units import fmt_ratio, human_size

PAIRS = ScaledWorkload("pairs")
SHARE = "slowest_pair_share"


def counts(run: Run) -> List[int]:
    """The pair counts measured in this run, fewest first."""
    return PAIRS.scales(run)


def aggregate(count: int) -> an.Metric:
    """All pairs' bytes together over the slowest pair's timed phase, at `count` pairs."""
    return dataclasses.replace(an.THROUGHPUT, label=f"aggregate throughput, {count} pairs",
                               workload=PAIRS.at(count))


def share(count: int) -> an.Metric:
    """The slowest pair's rate over the pairs' mean at `count` pairs: 1 is perfectly even."""
    return an.Metric(f"slowest pair's share, {count} pairs", PAIRS.at(count), SHARE, True, "")


def scaling(run: Run, transport: str, size: int, low: int,
            high: int) -> Optional[an.Comparison]:
    """The aggregate at `high` pairs against `low` under the report's rule (advantage: high ÷
    low), or None when either has no value. The gap is held against the wider of the two pair
    counts' noise floors: the same code measured twice under each crowd of processes."""
    floor_of = max((aggregate(low), aggregate(high)), key=lambda m: an.noise_floor(run, m) or 0)
    return an.compare_samples(run, floor_of, an.samples(run, aggregate(high), transport, size),
                              an.samples(run, aggregate(low), transport, size))


def oversubscribed(run: Run) -> Optional[List[int]]:
    """The pair counts at which more processes than CPUs had to share the CPUs they ran on
    (None when the run recorded neither its pinning nor its CPU count). Pinned, every leader
    shares one CPU and every follower another, so any count above one oversubscribes them."""
    if _pinned(run) is not None:
        return [p for p in counts(run) if p > 1]
    cores = run.cores()
    return None if cores is None else [p for p in counts(run) if 2 * p > cores]


def _pinned(run: Run) -> Optional[List[int]]:
    """[leader CPU, follower CPU] as the run recorded them; None when unpinned or unknown."""
    cpus = (run.fact("pipebench_cpus") or "").split(",")
    if len(cpus) != 2 or not all(c.strip().isdigit() for c in cpus):
        return None  # "-1,-1" is the harness's "left unpinned"
    return [int(c) for c in cpus]


# -- the section --------------------------------------------------------------------------------

TITLE = "Many pairs at once: aggregate throughput and fairness"


def section(run: Run) -> Lines:
    """The section."""
    out = [f"## {TITLE}", ""]
    if not counts(run):
        return out + ["Not measured in this run: run `./scripts/bench --pairs`, or `pipebench "
                      "--workloads=pairs` (pair counts from `--pairs`, default 1,2,4).", ""]
    low, high = counts(run)[0], counts(run)[-1]
    out += [
        "Each benchmark ran *P* independent pairs of one transport at once, started together, "
        "each pair its own sender and receiver process running the throughput workload's "
        "stream. A cell is all the pairs' bytes together over the slowest pair's timed phase "
        "(GiB/s)" +
        (f"; *scaling {low}→{high}* is the aggregate at {high} pairs over the aggregate at "
         f"{low}, written \"tie\" where the rule at the top cannot tell them apart; *slowest "
         "pair's share* is the slowest pair's rate over the pairs' mean (1 is perfectly even, "
         "0.5 a pair that moved half the average)" if high > low else "") +
        ". — not measured in this run; *skipped* the transport cannot run that way; *error* "
        "every repetition failed (reasons under *Not measured, skipped and failed*); marks as "
        "explained at the top.", "",
        _cpus(run), "", _noise(run), ""]
    for size in PAIRS.sizes(run):
        out += _size_table(run, size, low, high)
        out += _most_and_least_even(run, size, high)
    return out


def _cpus(run: Run) -> str:
    """What the pair counts measure on this machine: the CPUs the pairs shared, and from which
    count on they oversubscribed them."""
    cores, pinned, crowded = run.cores(), _pinned(run), oversubscribed(run)
    machine = (f"This machine has {cores} CPUs" if cores else
               "This run did not record the machine's CPU count")
    if pinned is not None:
        text = (f"{machine}, and every leader was pinned to CPU {pinned[0]} and every follower "
                f"to CPU {pinned[1]}: at *P* pairs, *P* processes share each of those two CPUs")
    elif cores:
        text = f"{machine} and the pairs ran unpinned: *P* pairs are 2×*P* processes"
    else:
        return f"{machine}, nor whether the pairs were pinned: what *P* pairs cost cannot be told."
    if not crowded:
        return text + ", so no pair count measured here oversubscribed the CPUs."
    return (text + f", so the rows at {_counts_text(crowded)} measure oversubscription (how a "
            "transport behaves when its processes must take turns on a CPU: who yields, who "
            "spins, who starves), not how it would scale on a machine with more cores.")


def _counts_text(chosen: List[int]) -> str:
    names = [f"{p} pair" + ("" if p == 1 else "s") for p in chosen]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _noise(run: Run) -> str:
    """The pairs' own noise floor at each count (the twin run as pairs too), or that there is
    none. The single-pair throughput floor is not borrowed: sharing a CPU adds noise of its own."""
    floors = [(p, an.noise_floor(run, aggregate(p))) for p in counts(run)]
    found = [(p, f) for p, f in floors if f is not None]
    if found:
        return (f"Noise floor of the aggregate (`{roles.noise_twin}` against `{roles.lead}`, "
                "both run as pairs; the widest gap at any size): " +
                ", ".join(f"{fmt_ratio(f)} at {_counts_text([p])}" for p, f in found) +
                "".join(f"; no twin at {_counts_text([p])}" for p, f in floors if f is None) +
                ". A scaling ratio must clear the wider floor of its two pair counts.")
    text = (f"This run has no `{roles.noise_twin}` pairs rows, so the scaling ratios were not "
            "tested against a noise floor: only their repetitions' overlap makes a tie")
    if all(m.ran <= 1 for m in run.measurements.values()
           if PAIRS.scale_of(m.workload) is not None):
        text += ", and with one repetition each, every ratio is one run's: read it with suspicion"
    return text + "."


def _size_table(run: Run, size: int, low: int, high: int) -> Lines:
    chosen = [t for t in PAIRS.transports(run)
              if any(run.get(PAIRS.at(p), t, size) for p in counts(run))]
    header = ["transport"] + [_counts_text([p]) for p in counts(run)]
    if high > low:
        header += [f"scaling {low}→{high}", f"slowest pair's share at {high}"]
    rows = []
    for t in chosen:
        row = [f"`{t}`"] + [cell(run, aggregate(p), t, size) for p in counts(run)]
        if high > low:
            c = scaling(run, t, size, low, high)
            row += ["—" if c is None else gain(c), cell(run, share(high), t, size, unit=False)]
        rows.append(row)
    return [f"**{size_label(run, size, chosen)} messages**", ""] + table(header, rows) + [""]


def _most_and_least_even(run: Run, size: int, high: int) -> Lines:
    """Who moved the most at the most pairs, and whose pairs shared the CPUs least evenly, as
    analysis.standing ranks them (ties by the rule named in full)."""
    candidates = PAIRS.transports(run)
    most = an.standing(run, aggregate(high), size, candidates)
    if most is None:
        return [f"No transport has a figure with {_counts_text([high])} at "
                f"{human_size(size)}.", ""]
    text = (f"With {_counts_text([high])} of {human_size(size)} messages the most moved (all "
            "pairs together): " + _leaders(run, aggregate(high), size, most))
    if high > 1:
        # The least even is the "best" of the share ranked the other way round.
        uneven = dataclasses.replace(share(high), higher_is_better=False)
        least = an.standing(run, uneven, size, candidates)
        if least is not None and least.others:
            text += ("; the least even (the slowest pair's share of the pairs' mean): " +
                     _leaders(run, share(high), size, least))
        elif least is not None:
            text += ("; no transport's pairs shared the CPUs less evenly than another's by the "
                     "rule")
    return [text + ".", ""]


def _leaders(run: Run, metric: an.Metric, size: int, standing: an.Standing) -> str:
    """'`a` (9.00 GiB/s)', or 'tie: `a` (9.00 GiB/s), `b` (8.90 GiB/s)', with the values'
    marks."""
    said = [f"`{t}` ({value_text(metric, v, unit=bool(metric.unit))}"
            f"{marks(run, metric.workload, t, size)})" for t, v in standing.leaders]
    return ("tie: " if standing.tie else "") + ", ".join(said)
