"""The report's section on large messages: what a pipe costs, from 1 MiB to 64 MiB, against the
best of each copy tier.

For messages this large the cost is per byte, and what sets it is how many times each byte is
copied on its way (transports.COPY_TIERS). The section puts every transport as a multiple of
the in-process yardstick, says which tier each belongs to, and holds the lead pipe and the loan
against the best of each tier at each size. Who is best, and whether a gap is a gap at all, is
analysis.standing's and analysis.compare's to say: a gap the rule does not accept is a tie.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence

import analysis as an
import transports as tp
from cells import Lines, absent, cell, marks, size_label, table, tied_names
from results import Run
from transports import roles
from units import fmt_gibs, fmt_ratio, human_size

SMALLEST = 1 << 20  # the range this section answers for, both ends included
LARGEST = 64 << 20

# Rows of the table, by tier (most copies first), then the unclassified, then the rows without
# a tier (the noise-floor twin).
_ROW_ORDER = list(tp.COPY_TIERS) + [tp.UNCLASSIFIED, None]


def _rows(run: Run) -> List[str]:
    """Every throughput transport but the capacity study's, which has a section of its own
    (it is the lead again at other pipe sizes: here it would count the lead twelve times)."""
    return [t for t in run.transports("throughput") if tp.get(t).family != tp.CAPACITY]


def large_sizes(run: Run) -> List[int]:
    """The throughput sizes of the run from SMALLEST to LARGEST (the capacity study's own are
    not enough to make a column)."""
    return [s for s in run.sizes("throughput", _rows(run)) if SMALLEST <= s <= LARGEST]


def large_messages(run: Run) -> Lines:
    """The section: the tiers, every transport as a multiple of the yardstick, and each tier's
    best against the lead and the loan at each size."""
    out = [f"## Large messages ({human_size(SMALLEST)}–{human_size(LARGEST)}): pipes against "
           "the best of each copy tier", ""]
    sizes = large_sizes(run)
    if not sizes:
        measured = run.sizes("throughput", _rows(run))
        return out + [f"No throughput size from {human_size(SMALLEST)} to "
                      f"{human_size(LARGEST)} was measured in this run" +
                      (f" (the largest is {human_size(measured[-1])})" if measured else "") +
                      ".", ""]
    out += _tiers_explained()
    out += _yardstick_table(run, sizes)
    out += _against_the_best(run, sizes)
    return out


def _tiers_explained() -> Lines:
    return ["For messages this large the cost is per byte, and what sets it is how many times "
            "each byte is copied between the sender's data and the receiver's check (building "
            "the message is not counted). The copy tiers:", ""] + [
        f"- **{tier}**: {what}." for tier, what in tp.COPY_TIERS.items()] + [
        f"- *{tp.UNCLASSIFIED}*: not classified in `scripts/report/transports.py`.", ""]


def _yardstick_table(run: Run, sizes: Sequence[int]) -> Lines:
    """Every transport by tier, as a multiple of the yardstick at each size (or in GiB/s when
    the run has no yardstick)."""
    stick = roles.yardstick
    rows_of = [t for t in _rows(run) if t != stick]
    rows_of.sort(key=lambda t: (_ROW_ORDER.index(tp.copy_tier(t)), tp.sort_key(t)))
    header = ["transport", "copies"] + [size_label(run, s) for s in sizes]
    if stick not in run.transports("throughput"):
        return [f"`{stick}` was not measured in this run, so there is no multiple of it: the "
                "table gives each transport's throughput (GiB/s) by tier. — not measured in "
                "this run; *skipped* the transport cannot carry that size; *error* every "
                "repetition failed; marks as explained at the top.", ""] + table(
            header, [[f"`{t}`", _tier_cell(t)] +
                     [cell(run, an.THROUGHPUT, t, s, unit=False) for s in sizes]
                     for t in rows_of]) + [""]
    rows = [[f"`{stick}` (1×)", _tier_cell(stick)] + [cell(run, an.THROUGHPUT, stick, s)
                                                     for s in sizes]]
    rows += [[f"`{t}`", _tier_cell(t)] + [_multiple(run, t, s) for s in sizes] for t in rows_of]
    return [f"Throughput as a multiple of `{stick}` at the same size (its own figure is the "
            "first row), by tier. — not measured in this run, or no ratio because the "
            f"`{stick}` figure is missing at that size; *skipped* the transport cannot carry "
            "that size; *error* every repetition failed; marks as explained at the top. Above "
            f"1× a transport beats one in-process copy, which *Pipes against shared memory and "
            f"{stick}* explains. `{roles.noise_twin}` is `{roles.lead}` again (the noise "
            "floor), in no tier; the pipe-capacity study has its own section.", ""] + \
        table(header, rows) + [""]


def _tier_cell(transport: str) -> str:
    tier = tp.copy_tier(transport)
    return "—" if tier is None else tier


def _multiple(run: Run, transport: str, size: int) -> str:
    """'0.62×' with the transport's marks, or the cell's reason for having no value."""
    f = an.fraction(run, an.THROUGHPUT, transport, roles.yardstick, size)
    if f is not None:
        return fmt_ratio(f) + marks(run, "throughput", transport, size)
    if an.value(run, an.THROUGHPUT, transport, size) is None:
        return cell(run, an.THROUGHPUT, transport, size)
    return "—"  # the yardstick has no figure here: its row says why


def _against_the_best(run: Run, sizes: Sequence[int]) -> Lines:
    """At each size, each tier's best among the C++ transports, and the lead and the loan as a
    multiple of each."""
    candidates = an.contenders(run)
    tiers: Dict[str, List[str]] = {tier: [t for t in candidates if tp.copy_tier(t) == tier]
                                   for tier in tp.COPY_TIERS}
    pipes = [p for p in (roles.lead, roles.loan) if p in run.transports("throughput")]
    out = ["**Each tier's best, and what the pipes cost against it.** Ranked among the C++ "
           "transports, which one harness measured under the same rules (the Python rows are in "
           "the table, not in the ranking); a best that the rule cannot separate from the next "
           "is a tie, every transport in it named, and a pipe the rule cannot separate from a "
           "tier's best is level with it, not behind.", ""]
    empty = [tier for tier, members in tiers.items() if not members]
    if empty:
        out += ["No C++ transport of the tier" + ("s " if len(empty) > 1 else " ") +
                " and ".join(f"*{tier}*" for tier in empty) + " was measured in this run.", ""]
    for s in sizes:
        best = {tier: an.standing(run, an.THROUGHPUT, s, members)
                for tier, members in tiers.items() if members}
        said = [_best_text(run, tier, standing, s) for tier, standing in best.items()]
        text = f"- **{human_size(s)}**: best " + "; ".join(said) + "."
        costs = [c for c in (_pipe_against(run, p, best, s) for p in pipes) if c]
        if costs:
            text += " " + "; ".join(costs) + "."
        out.append(text)
    unranked = [t for t in candidates if tp.copy_tier(t) == tp.UNCLASSIFIED]
    if unranked:
        out += ["", "Not ranked, their tier being unknown: " +
                ", ".join(f"`{t}`" for t in unranked) + "."]
    return out + [""]


def _best_text(run: Run, tier: str, standing: Optional[an.Standing], size: int) -> str:
    """'with two copies `a` (10.0 GiB/s)', 'with one copy tie: `a` (12.5 GiB/s), `b` (..)'."""
    if standing is None:
        return f"with {tier}: none has a figure at {human_size(size)}"
    figures = [f"`{t}` ({fmt_gibs(v)}{marks(run, 'throughput', t, size)})"
               for t, v in standing.leaders]
    return f"with {tier} " + ("tie: " if standing.tie else "") + ", ".join(figures)


def _pipe_against(run: Run, pipe: str, best: Dict[str, Optional[an.Standing]],
                  size: int) -> str:
    """'`pipe` moves 0.80× what `a` moves (two copies), is the best of its tier (one copy)...':
    the pipe against every tier with a best at `size`, as analysis.compare words it."""
    if an.value(run, an.THROUGHPUT, pipe, size) is None:
        return f"`{pipe}` has no figure ({absent(run, 'throughput', pipe, size)})"
    parts = []
    for tier, standing in best.items():
        if standing is None:
            continue
        leaders = [t for t, _v in standing.leaders]
        if pipe in leaders:
            parts.append(f"is in the tie for the best of its tier ({tier}: "
                         f"{tied_names(standing.leaders)})" if standing.tie else
                         f"is the best of its tier ({tier})")
            continue
        c = an.compare(run, an.THROUGHPUT, pipe, leaders[0], size)
        if c is None:
            continue
        parts.append(f"is level with `{leaders[0]}` ({tier}; a tie)" if c.tie else
                     f"moves {fmt_ratio(c.advantage)} what `{leaders[0]}` moves ({tier})")
    if not parts:
        return ""
    return f"`{pipe}` " + ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1]
