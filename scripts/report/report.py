"""REPORT.md: the run's answer in words, every figure computed from the JSON.

Each section is a function of the run that returns Markdown lines. A section states what it
can from what was measured and says plainly what was not ("not measured in this run", or the
error text); it never fails and never fills a gap with a guess. The wording that depends on the
data (the verdict, what dominates latency on this machine, whether pickling matters) is chosen
by comparing the measured figures, and the figures are printed next to the words. Whether two
figures differ at all is decided by one rule (analysis.compare, stated at the top of the
report): a gap the rule does not accept is written as a tie, never as a win or a gain.
"""
from __future__ import annotations

import os
import statistics
from typing import Callable, Dict, List, Optional, Sequence

import analysis as an
import transports as tp
from transports import roles
from results import CORRUPTION, LOSS, OTHER_FAILURE, SKIPPED, SKIPPED_PREFIX, Run
from transport_table import transport_table
from units import (fmt_gibs, fmt_ns, fmt_number, fmt_percent, fmt_rate, fmt_ratio, human_size,
                   size_list)

Lines = List[str]

# Round trips above this at the smallest size mean wake-ups, not copies, set the latency.
WAKEUP_BOUND_NS = 10_000

# Marks in tables (explained once, in the section at the top).
CACHE_MARK = "°"  # after a size: it may have been cache-resident
SHORT_MARK = "†"  # after a value: fewer successful repetitions than requested
SAME_CODE_MARK = "‡"  # after a value: the transport ran another's code at this size
DISTURBED_MARK = "§"  # after a value: it rests on repetitions the hypervisor disturbed


# -- small helpers: how one value, or its absence, is written ---------------------------------


def _fmt(metric: an.Metric, v: float, unit: bool = True) -> str:
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


def _marks(run: Run, workload: str, transport: str, size: int) -> str:
    """† when the value rests on fewer repetitions than requested, § on disturbed ones (too
    few calm), ‡ when it is another
    transport's code (the noise-floor twin is that by definition and needs no mark)."""
    m = run.get(workload, transport, size)
    out = SHORT_MARK if m is not None and m.short else ""
    if m is not None and m.ok and m.disturbed:
        out += DISTURBED_MARK
    if tp.same_code_as(transport, size) and tp.get(transport).family != tp.CONTROL:
        out += SAME_CODE_MARK
    return out


def _size(run: Run, size: int, transports: Optional[Sequence[str]] = None) -> str:
    """A size for a table or a heading, marked when it may have been cache-resident."""
    return human_size(size) + (CACHE_MARK if an.cache_resident(run, size, transports) else "")


def _absent(run: Run, workload: str, transport: str, size: int) -> str:
    """Why there is no value, in words fit for a sentence."""
    m = run.get(workload, transport, size)
    if m is None:
        return "not measured in this run"
    return m.error if m.skipped else f"failed: {m.error}"


def _cell(run: Run, metric: an.Metric, transport: str, size: int, unit: bool = True) -> str:
    """A table cell: the value with its marks, or a one-word reason."""
    v = an.value(run, metric, transport, size)
    if v is not None:
        return _fmt(metric, v, unit) + _marks(run, metric.workload, transport, size)
    m = run.get(metric.workload, transport, size)
    if m is None:
        return "—"
    if m.ok:
        return "n/a"  # measured, but without this counter
    return "skipped" if m.skipped else "error"


def _named(run: Run, metric: an.Metric, transport: str, size: int) -> str:
    """'`t` 8.00 GiB/s' with the value's marks, for tables that name the transport."""
    return f"`{transport}` {_cell(run, metric, transport, size)}"


def _say(run: Run, metric: an.Metric, transport: str, size: int) -> str:
    """'`t` (8.00 GiB/s)' or '`t` (not measured in this run)'."""
    v = an.value(run, metric, transport, size)
    what = _fmt(metric, v) if v is not None else _absent(run, metric.workload, transport, size)
    return f"`{transport}` ({what})"


def _gain(c: an.Comparison) -> str:
    """A ratio the rule accepts, '2.00×', or 'tie': a ratio it does not accept is not shown, so
    that it cannot be read as a gain (the values are in the appendix)."""
    return fmt_ratio(c.advantage) if c.different else "tie"


def _gain_at(c: Optional[an.Comparison], run: Run, metric: an.Metric, t: str, size: int) -> str:
    """'2.00× at 1 MiB', 'a tie at 64 B', or why there is no ratio at that size."""
    if c is None:
        return f"{_absent(run, metric.workload, t, size)} at {human_size(size)}"
    if c.tie:
        return f"a tie at {human_size(size)}"
    return f"{fmt_ratio(c.advantage)} at {human_size(size)}"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> Lines:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out


def _chart(charts: Dict[str, str], name: str) -> Lines:
    if name not in charts:
        return []
    return ["", f"[![{charts[name]}]({name}.png)]({name}.svg)", ""]


def _has(run: Run, transport: str, workload: Optional[str] = None) -> bool:
    return transport in run.transports(workload)


def _largest_common(run: Run, metric: an.Metric, transports: Sequence[str]) -> Optional[int]:
    """The largest size at which every one of `transports` has a value."""
    sizes = [s for s in run.sizes(metric.workload)
             if all(an.value(run, metric, t, s) is not None for t in transports)]
    return sizes[-1] if sizes else None


def _large_size(run: Run, transport: str) -> Optional[int]:
    """The largest size at which `transport` has a throughput value."""
    return _largest_common(run, an.THROUGHPUT, [transport])


def _lead_or_baseline(run: Run, metric: an.Metric, size: int) -> Optional[str]:
    """The pipe a sentence is about: the lead where it has a value at `size`, else the
    baseline, else None."""
    return next((t for t in (roles.lead, roles.baseline)
                 if an.value(run, metric, t, size) is not None), None)


def _tied_names(leaders) -> str:
    return ", ".join(f"`{t}`" for t, _v in leaders)


# -- sections ---------------------------------------------------------------------------------


def _header(run: Run) -> Lines:
    name = os.path.basename(os.path.normpath(run.directory))
    date = run.fact("date") or "date not recorded"
    made = run.how_values_were_made(f", marked {SHORT_MARK}")
    return [
        f"# pipebench report: {name}",
        "",
        "*Are pipes fit for high-speed, high-volume transfers between processes, and how far can "
        "a tuned pipe go?*",
        "",
        f"- Machine: {run.machine()}",
        f"- Run: {date}; files: {', '.join(run.files)}; each value is {made}",
        "- Generated by `./scripts/plot` from the JSON alone: every figure below is computed "
        "from it. Throughput is one-way (GiB/s, 1 GiB = 2^30 bytes); latency is the round trip "
        "of a ping-pong (one-way is half); CPU is both processes, user + system.",
        "",
    ]


def _trust(run: Run) -> Lines:
    """The noise floor, the rule every comparison below follows, and the marks in the tables."""
    out = ["## How far the numbers hold: the noise floor", ""]
    metrics = (an.THROUGHPUT, an.RTT_P50)
    floors = [(metric, an.noise_floor(run, metric)) for metric in metrics]
    gaps = [(metric, g) for metric in metrics for g in an.twin_gaps(run, metric)]
    if gaps:
        out += [f"`{roles.noise_twin}` is `{roles.lead}` under a second name: the same code, "
                "measured apart like any other transport. The gap between the two is what chance "
                "alone does in this run:", ""]
        out += _table(["workload", "size", f"`{roles.noise_twin}` ÷ `{roles.lead}` (medians)",
                       "worst case (any two repetitions)"],
                      [[metric.workload + ("" if metric is an.THROUGHPUT else " (p50)"),
                        _size(run, g.size), fmt_ratio(g.ratio), fmt_ratio(g.worst)]
                       for metric, g in gaps])
        said = " and ".join(f"{fmt_ratio(floor)} for {metric.label}" for metric, floor in floors
                            if floor is not None)
        unfloored = [metric.label for metric, floor in floors if floor is None]
        out += ["", f"**Noise floor: {said}**, the largest gap between the twins' medians at "
                "any size" + (f" (no twin for {' or '.join(unfloored)}: there the repetitions "
                              "alone decide)" if unfloored else "") + ". "
                f"**The rule used everywhere below:** {an.RULE}, written \"tie: a, b\", never a "
                "win or a gain."]
    else:
        out += [f"**No noise floor was measured in this run** (it has no `{roles.noise_twin}` "
                f"rows). **The rule used everywhere below** rests on the repetitions alone: "
                f"{an.RULE_WITHOUT_FLOOR}, written \"tie: a, b\", never a win or a gain."]
        if all(m.ran <= 1 for m in run.measurements.values()):
            out[-1] += (" With one repetition per benchmark nothing can overlap, so any gap at "
                        "all counts as a difference here: read small gaps with suspicion.")
    out += [""] + _marks_explained(run) + [""]
    return out


def _marks_explained(run: Run) -> Lines:
    out = ["Marks in the tables:"]
    llc = run.llc_bytes()
    rule = run.fact("payload_pool_rule")
    cached = [s for s in run.sizes() if an.cache_resident(run, s)]
    if not an.pools_recorded(run):
        out.append(f"- no {CACHE_MARK}: this run did not record its payload pools, so which "
                   "sizes could have been served from cache is not known.")
    elif llc is None:
        out.append(f"- {CACHE_MARK} after a size: it may have been cache-resident. This run did "
                   "not know its last-level cache size, so every size is marked.")
    else:
        pools = ", ".join(f"{human_size(p)} at {human_size(s)}"
                          for s, p in an.pool_sizes(run, cached))
        out.append(f"- {CACHE_MARK} after a size: it may have been cache-resident, its payload "
                   f"pool being under {an.CACHE_FACTOR}× this host's {human_size(llc)} "
                   f"last-level cache" + (f" ({pools})" if cached else " (no size here)") +
                   (f". Pool rule: {rule}." if rule else "."))
    out.append(f"- {SHORT_MARK} after a value: fewer successful repetitions than requested; the "
               "failures are listed under *Not measured, skipped and failed*.")
    out.append(f"- {DISTURBED_MARK} after a value: it rests on repetitions during which the "
               f"hypervisor stole more than {an.STEAL_LIMIT_PCT:g}% of the CPU (fewer than "
               f"{an.MIN_UNDISTURBED} calm ones); see *Where the answer depends on the machine, "
               "and how quiet it was*.")
    out.append(f"- {SAME_CODE_MARK} after a value: `{roles.batch}` above "
               f"{human_size(tp.BATCH_LIMIT_BYTES)}, where messages go alone through "
               f"`send_bytes`: the same code as `{roles.lead}`, so a second measurement of it, "
               "never credited with a gain of its own.")
    return out


def _verdict(run: Run, charts: Dict[str, str]) -> Lines:
    out = ["## Verdict", ""]
    variants = [t for t in tp.LEAD_VARIANTS if _has(run, t, "throughput")]
    pipes = variants + ([roles.baseline] if _has(run, roles.baseline, "throughput") else [])
    if not pipes:
        return out + ["No pipe transport was measured in this run, so it cannot answer the "
                      "question. The tables in the appendix give what was measured.", ""]
    lead = roles.lead if roles.lead in variants else pipes[0]
    size = _large_size(run, lead)
    if size is None:
        last = run.sizes("throughput")[-1]
        return out + [f"`{lead}` has no successful throughput row in this run (at "
                      f"{human_size(last)}: {_absent(run, 'throughput', lead, last)}), so "
                      "there is no verdict; see *Not measured, skipped and failed*.", ""]
    if lead != roles.lead:
        out.append(f"`{roles.lead}` was not measured in this run, so the verdict rests on "
                   f"`{lead}`.")
        out.append("")
    # Judged over the whole large band, not at one chosen size: the ratios to shared memory
    # swing with the size (cache effects on both sides), and one size could flatter either.
    large = [s for s in next((b[2] for b in an.bands(run.sizes("throughput"))
                              if b[0] == "large"), [size])
             if an.value(run, an.THROUGHPUT, lead, s) is not None] or [size]

    def across(ref: Optional[str]) -> List[float]:
        got = [an.value(run, an.THROUGHPUT, lead, s) if ref is None else
               an.fraction(run, an.THROUGHPUT, lead, ref, s) for s in large]
        return sorted(v for v in got if v is not None)

    def spread(values: List[float], fmt: Callable[[float], str], median: bool = False) -> str:
        if values[0] == values[-1]:
            return fmt(values[0])
        text = f"{fmt(values[0])}–{fmt(values[-1])}"
        return text + (f" (median {fmt(statistics.median(values))})" if median else "")

    def ties_with(ref: str) -> List[int]:
        return [s for s in large if (c := an.compare(run, an.THROUGHPUT, lead, ref, s))
                is not None and c.tie]

    shm, mem = across(roles.practical_ceiling), across(roles.yardstick)
    naive = across(roles.baseline)
    answer = _fitness(statistics.median(shm) if shm else None,
                      statistics.median(mem) if mem else None,
                      bool(shm) and len(ties_with(roles.practical_ceiling)) == len(shm))
    where = (f"at {_size(run, large[0])} messages" if len(large) == 1 else
             f"from {_size(run, large[0])} to {_size(run, large[-1])} messages")
    facts = [f"{where} `{lead}` moves {spread(across(None), fmt_gibs)}"]
    if naive and lead != roles.baseline:
        level = ties_with(roles.baseline)
        if len(level) == len(naive):
            facts.append("level with the naive pipe (a tie)")
        else:
            facts.append(f"{spread(naive, fmt_ratio)} the naive pipe" +
                         (f"'s {fmt_gibs(an.value(run, an.THROUGHPUT, roles.baseline, large[0]))}"
                          if len(large) == 1 else "") +
                         (f" (a tie at {size_list(level)})" if level else ""))
    facts.append(f"{spread(shm, fmt_percent, True)} of the shared-memory ring" if shm else
                 f"shared memory (`{roles.practical_ceiling}`) "
                 f"{_absent(run, 'throughput', roles.practical_ceiling, size)}")
    facts.append(f"{spread(mem, fmt_percent, True)} of one in-process `{roles.yardstick}`"
                 if mem else
                 f"`{roles.yardstick}` {_absent(run, 'throughput', roles.yardstick, size)}")
    out.append(f"**Are pipes fit for high-volume transfers?** {answer} "
               f"{facts[0][0].upper() + facts[0][1:]}: " + ", ".join(facts[1:]) + ".")
    out.append("")
    out += _best_pipe(run, variants)
    out += _small_messages(run)
    out += _chart(charts, "throughput_vs_size")
    return out


def _best_pipe(run: Run, variants: Sequence[str]) -> Lines:
    """The best figure of the pipes library, with any variant the rule cannot tell from it."""
    best = an.peak(run, an.THROUGHPUT, variants) if variants else None
    if best is None:
        return []
    t, s, bv = best
    head = (f"the best pipe figure in this run is `{t}` at {_size(run, s)}: {fmt_gibs(bv)}"
            f"{_marks(run, 'throughput', t, s)} ({tp.get(t).what})")
    standing = an.standing(run, an.THROUGHPUT, s, variants)
    if standing is not None and standing.tie:
        head += (", a tie with " + ", ".join(_say(run, an.THROUGHPUT, o, s)
                                             for o, _v in standing.leaders[1:]))
    parts = []
    c = an.compare(run, an.THROUGHPUT, t, roles.baseline, s)
    if c is not None:
        parts.append(f"{fmt_ratio(c.advantage)} the naive pipe" if c.different
                     else "level with the naive pipe (a tie)")
    for ref in (roles.practical_ceiling, roles.yardstick):
        r = an.fraction(run, an.THROUGHPUT, t, ref, s)
        if r is not None:
            parts.append(f"{fmt_percent(r)} of `{ref}`")
    return ["**How far does a tuned pipe go?** " + head[0].upper() + head[1:] +
            ("; that is " + ", ".join(parts) if parts else "") + ".", ""]


def _fitness(shm: Optional[float], mem: Optional[float], level_with_shm: bool) -> str:
    """The one-line answer, from the lead ÷ the practical ceiling (or ÷ the yardstick without
    it), the median over the large sizes; a tie with shared memory at every large size is said
    as one."""
    if level_with_shm:
        return "Yes: for large messages a tuned pipe is level with shared memory (a tie)."
    if shm is not None:
        if shm >= 1.0:
            return "Yes: for large messages a tuned pipe matches or beats shared memory."
        if shm >= 0.7:
            return "Yes: for large messages a tuned pipe comes close to shared memory."
        if shm >= 0.4:
            return (f"Yes, at a discount: shared memory is {fmt_ratio(1 / shm)} faster for "
                    "large messages.")
        return (f"Not at the top end: shared memory is {fmt_ratio(1 / shm)} faster for large "
                "messages.")
    if mem is not None:
        if mem >= 0.5:
            return "Yes: a pipe reaches at least half the speed of an in-process copy."
        if mem >= 0.2:
            return "Yes, at a discount: a pipe runs well below an in-process copy."
        return "Only partly: a pipe runs far below an in-process copy."
    return (f"This run has no ceiling to judge against (neither `{roles.practical_ceiling}` nor "
            f"`{roles.yardstick}`).")


def _small_messages(run: Run) -> Lines:
    sizes = run.sizes("throughput")
    if not sizes:
        return []
    s = sizes[0]
    lead = _lead_or_baseline(run, an.MESSAGES, s)
    if lead is None:
        return []
    parts = [f"at {_size(run, s)} `{lead}` moves messages at "
             f"{fmt_rate(an.value(run, an.MESSAGES, lead, s))} "
             f"({fmt_gibs(an.value(run, an.THROUGHPUT, lead, s))})"]
    for other in an.counts_at([roles.batch, roles.practical_ceiling], s):
        c = an.compare(run, an.MESSAGES, other, lead, s)
        if c is not None:
            parts.append(f"`{other}` {fmt_rate(an.value(run, an.MESSAGES, other, s))} "
                         f"({_gain(c)})")
    text = ("**Small messages** are a different question: the cost is per message, not per "
            "byte. " + parts[0][0].upper() + parts[0][1:])
    if len(parts) > 1:
        text += "; " + ", ".join(parts[1:])
    lat = an.value(run, an.RTT_P50, lead, s)
    if lat is not None:
        shm = roles.practical_ceiling
        text += (f". Its median round trip at {human_size(s)} is {fmt_ns(lat)}"
                 + (f", against {_say(run, an.RTT_P50, shm, s)} for shared memory"
                    if an.value(run, an.RTT_P50, shm, s) is not None else ""))
    return [text + ".", ""]


def _winners(run: Run, charts: Dict[str, str]) -> Lines:
    out = ["## Winner in each size band", "",
           "Ranked among the C++ transports, which one harness measured under the same rules "
           f"(`{roles.yardstick}` is the ceiling, not a contender; `{roles.noise_twin}`, and "
           f"`{roles.batch}` above {human_size(tp.BATCH_LIMIT_BYTES)}, are `{roles.lead}` again; "
           "the Python rows are compared further down). A winner the rule cannot separate from "
           "the next is a tie, and every transport in it is named. \"Lead\" is how many times "
           "better the winner is than the runner-up, the best transport outside the tie; "
           "\"best pipe\" is the best `pipe()`-based transport, as a share of the winner.", ""]
    candidates = an.contenders(run)
    pipes = tp.in_families(candidates, tp.PIPE, tp.LEVER)
    others = tp.in_families(candidates, tp.RIVAL)
    if not candidates:
        return out + [f"No C++ transport other than `{roles.yardstick}` was measured in this "
                      "run.", ""]
    for metric in (an.THROUGHPUT, an.RTT_P50):
        rows, summary = [], []
        for band, label, sizes in an.bands(run.sizes(metric.workload, candidates)):
            wins: Dict[str, int] = {}
            for s in sizes:
                where = [f"{band} ({label})", _size(run, s, candidates)]
                standing = an.standing(run, metric, s, candidates)
                if standing is None:
                    rows.append(where + ["nothing measured", "", "", "", ""])
                    continue
                w = standing.leaders[0][0]
                name = (f"tie: {_tied_names(standing.leaders)}" if standing.tie else f"`{w}`")
                wins[name] = wins.get(name, 0) + 1
                winner = ("tie: " + ", ".join(_named(run, metric, t, s)
                                              for t, _v in standing.leaders)
                          if standing.tie else _named(run, metric, w, s))
                runner = standing.others[0][0] if standing.others else None
                rows.append(where + [
                    winner, _named(run, metric, runner, s) if runner else "—",
                    fmt_ratio(an.advantage(run, metric, w, runner, s)) if runner else "—",
                    _best_of(run, metric, s, pipes, standing),
                    _best_of(run, metric, s, others, standing)])
            if wins:
                summary.append(f"{band} ({label}): " + ", ".join(
                    f"{t} at {n} of {len(sizes)} size{'s' if len(sizes) > 1 else ''}"
                    for t, n in sorted(wins.items(), key=lambda tn: -tn[1])))
        title = ("Highest throughput" if metric is an.THROUGHPUT else
                 "Lowest median round trip (p50)")
        out += [f"**{title}.** Wins per band: " + ("; ".join(summary) or "none") + ".", ""]
        out += _table(["band", "size", "winner", "runner-up", "lead", "best pipe",
                       "best non-pipe"], rows)
        out.append("")
    out += _chart(charts, "tuned_vs_rivals")
    out += _chart(charts, "latency_vs_size")
    return out


def _best_of(run: Run, metric: an.Metric, size: int, group: Sequence[str],
             standing: an.Standing) -> str:
    ranked = an.ranking(run, metric, size, an.counts_at(group, size))
    if not ranked:
        return "none measured"
    t, _v = ranked[0]
    leaders = [name for name, _v in standing.leaders]
    if t in leaders:
        return f"`{t}` (in the tie)" if standing.tie else f"`{t}` (the winner)"
    winner = leaders[0]
    share = (an.fraction(run, metric, t, winner, size) if metric.higher_is_better
             else an.fraction(run, metric, winner, t, size))  # latency: the winner's time ÷ t's
    return f"{_named(run, metric, t, size)} ({fmt_percent(share)})"


def _levers(run: Run, charts: Dict[str, str]) -> Lines:
    out = ["## What each pipe lever buys", ""]
    ladder = [(t, ref) for t, ref in tp.LEVER_LADDER if _has(run, t)]
    if len(ladder) < 2:
        return out + ["No pipe variant besides " + (f"`{roles.baseline}`" if ladder else "it") +
                      " was measured in this run, so there is no ablation: "
                      + ", ".join(f"`{t}`" for t, _ in tp.LEVER_LADDER if not _has(run, t)) +
                      " not measured in this run.", ""] + _chart(charts, "pipe_levers")
    sizes = an.key_sizes(run.sizes("throughput", [t for t, _ in ladder]))
    out += [f"Throughput of each step at key sizes, as a multiple of `{roles.baseline}`, and in "
            "brackets as a multiple of the step it is compared with: a lever alone against the "
            f"library with every lever off, all levers together (`{roles.lead}`) against levers "
            "off too, the loan against its like-for-like twin, batch and spin against "
            f"`{roles.lead}`. A ratio the rule does not accept is written \"tie\". Absolute "
            "figures are in the appendix.", ""]
    steps = {s: {st.transport: st for st in an.lever_steps(run, an.THROUGHPUT, s)}
             for s in sizes}
    rows = []
    for t, ref in ladder:
        cells = []
        for s in sizes:
            st = steps[s].get(t)
            if st is None or st.value is None:
                cells.append("—" if st is None else _cell(run, an.THROUGHPUT, t, s))
            elif st.same_code_as:
                cells.append(f"same code as `{st.same_code_as}`")
            elif t == roles.baseline:
                cells.append(f"{_cell(run, an.THROUGHPUT, t, s)} (baseline)")
            else:
                cells.append((_gain(st.vs_baseline) if st.vs_baseline else
                              _cell(run, an.THROUGHPUT, t, s)) +
                             (f" ({_gain(st.vs_reference)})" if st.vs_reference else "") +
                             _marks(run, "throughput", t, s))
        rows.append([f"`{t}`", f"`{ref}`" if ref else "—"] + cells)
    out += _table(["step", "compared with"] + [_size(run, s) for s in sizes], rows)
    out.append("")
    out += _lever_sentences(run, sizes)
    out += _lever_latency(run, ladder)
    out += _chart(charts, "pipe_levers")
    return out


def _lever_sentences(run: Run, sizes: Sequence[int]) -> Lines:
    out = []

    def gains(t: str, ref: str) -> str:
        parts = []
        for s in sizes:
            same = tp.same_code_as(t, s)
            parts.append(f"the same code as `{same}` at {human_size(s)}" if same else
                         _gain_at(an.compare(run, an.THROUGHPUT, t, ref, s), run,
                                  an.THROUGHPUT, t, s))
        return ", ".join(parts)

    if _has(run, roles.levers_off) and _has(run, roles.baseline):
        out.append(f"- The library with every lever off against `{roles.baseline}` (its own "
                   f"framing code, same default pipe): {gains(roles.levers_off, roles.baseline)}.")
    singles = [t for t, ref in tp.LEVER_LADDER if ref == roles.levers_off and t != roles.lead
               and _has(run, t)]
    if _has(run, roles.levers_off):
        for t in singles:
            out.append(f"- `{t}` ({tp.get(t).what}), against levers off: "
                       f"{gains(t, roles.levers_off)}.")
        for s in sizes:
            bought = [(t, c) for t in singles
                      if (c := an.compare(run, an.THROUGHPUT, t, roles.levers_off, s)) is not None
                      and c.different and c.advantage > 1]
            if bought:
                t, c = max(bought, key=lambda tc: tc[1].advantage)
                out.append(f"- The single lever that buys most at {human_size(s)}: `{t}` "
                           f"({fmt_ratio(c.advantage)}).")
            elif singles:
                out.append(f"- At {human_size(s)} no single lever buys anything the rule "
                           "accepts: each is a tie with levers off, or slower.")
        if _has(run, roles.lead):
            out.append(f"- All levers together (`{roles.lead}`) against levers off: "
                       f"{gains(roles.lead, roles.levers_off)}.")
    if _has(run, roles.loan) and _has(run, roles.loan_twin):
        out.append(f"- Building each message in the loaned staging ring (`{roles.loan}`) "
                   f"instead of a user buffer that is then sent (`{roles.loan_twin}`): "
                   f"{gains(roles.loan, roles.loan_twin)}.")
    if _has(run, roles.batch) and _has(run, roles.lead):
        out.append(f"- `send_batch` (`{roles.batch}`) against one `send_bytes` per message: "
                   f"{gains(roles.batch, roles.lead)}. Messages over "
                   f"{human_size(tp.BATCH_LIMIT_BYTES)} go alone through `send_bytes`, so "
                   "there is nothing to batch above that.")
    return out + ([""] if out else [])


def _lever_latency(run: Run, ladder) -> Lines:
    sizes = run.sizes("latency", [t for t, _ in ladder])
    if not sizes:
        return []
    s = sizes[0]
    rows = []
    for st in an.lever_steps(run, an.RTT_P50, s):
        rows.append([f"`{st.transport}`", _cell(run, an.RTT_P50, st.transport, s),
                     _gain(st.vs_baseline) if st.vs_baseline else "—",
                     (f"{_gain(st.vs_reference)} vs `{st.reference}`" if st.vs_reference
                      else "—"),
                     _cell(run, an.CPU_PINGPONG, st.transport, s)])
    out = [f"Median round trip at {_size(run, s)} (\"faster\" columns are how many times "
           "quicker, or a tie; CPU is per GiB moved in the ping-pong):", ""]
    out += _table(["step", "p50 round trip", f"faster than {roles.baseline}", "faster than its "
                   "reference", "CPU s/GiB"], rows)
    spin = an.compare(run, an.RTT_P50, roles.spin, roles.lead, s)
    if spin is not None:
        cpu = an.fraction(run, an.CPU_PINGPONG, roles.spin, roles.lead, s)
        before = fmt_ns(an.value(run, an.RTT_P50, roles.lead, s))
        after = fmt_ns(an.value(run, an.RTT_P50, roles.spin, s))
        text = (f"Spinning before blocking (`{roles.spin}`) takes the {human_size(s)} round trip "
                f"from {before} to {after} ({fmt_ratio(spin.advantage)} faster)"
                if spin.different else
                f"Spinning before blocking (`{roles.spin}`) leaves the {human_size(s)} round trip "
                f"where it was: {after} against {before}, a tie")
        out += ["", text + (f", for {fmt_ratio(cpu)} the CPU per GiB." if cpu is not None
                            else ".")]
    return out + [""]


def _fractions(run: Run) -> Lines:
    out = [f"## Pipes against shared memory and {roles.yardstick}", ""]
    lead = [t for t in (roles.lead, roles.loan) if _has(run, t, "throughput")]
    if not lead:
        return out + [f"Neither `{roles.lead}` nor `{roles.loan}` was measured in this run.", ""]
    refs = (roles.practical_ceiling, roles.yardstick)
    rows = []
    for s in run.sizes("throughput", lead):
        row = [_size(run, s, lead + list(refs))]
        for t in lead:
            row.append(_cell(run, an.THROUGHPUT, t, s))
            for ref in refs:
                f = an.fraction(run, an.THROUGHPUT, t, ref, s)
                row.append(fmt_percent(f) if f is not None else "—")
        rows.append(row)
    header = ["size"]
    for t in lead:
        header += [f"`{t}`"] + [f"÷ `{ref}`" for ref in refs]
    out += [f"Throughput, and as a share of shared memory (`{roles.practical_ceiling}`, the "
            f"practical ceiling between processes) and of one in-process copy "
            f"(`{roles.yardstick}`); — means the "
            "reference was not measured at that size.", ""]
    out += _table(header, rows)
    missing = [ref for ref in refs if not _has(run, ref, "throughput")]
    if missing:
        out += ["", " and ".join(f"`{m}`" for m in missing) + " not measured in this run."]
    out += ["", _yardstick_is_not_a_limit(run)]
    shm = roles.practical_ceiling
    for t in lead:
        s = _largest_common(run, an.THROUGHPUT, [t, shm])
        if s is not None:
            out += ["", f"At {human_size(s)}, the largest size both have, `{t}` reaches "
                    f"{fmt_percent(an.fraction(run, an.THROUGHPUT, t, shm, s))} of `{shm}` "
                    f"({fmt_gibs(an.value(run, an.THROUGHPUT, t, s))} against "
                    f"{fmt_gibs(an.value(run, an.THROUGHPUT, shm, s))})."]
    return out + [""]


def _yardstick_is_not_a_limit(run: Run) -> str:
    """Why a transport can pass the yardstick, and which did in this run (by the rule)."""
    text = (f"`{roles.yardstick}` is one CPU copying each message and then checking it, in turn. "
            "Between two processes the copy (sender) and the check (receiver) run on two CPUs "
            "at once, so a transport with one copy can pass it, up to about twice: it is a "
            "yardstick, not a hard limit.")
    by_transport: Dict[str, List[int]] = {}
    for t in an.contenders(run):
        for s in run.sizes("throughput"):
            c = an.compare(run, an.THROUGHPUT, t, roles.yardstick, s)
            if tp.same_code_as(t, s) is None and c is not None and c.different \
                    and c.advantage > 1:
                by_transport.setdefault(t, []).append(s)
    if not by_transport:
        return text
    return text + " In this run: " + "; ".join(
        f"`{t}` at {', '.join(human_size(s) for s in sizes)}"
        for t, sizes in by_transport.items()) + "."


def _cpu(run: Run, charts: Dict[str, str]) -> Lines:
    out = ["## CPU per GiB", "",
           "`cpu_s_per_GiB` is the CPU time of both processes (user + system) per GiB moved. "
           "Multiplied by the throughput it gives how many CPUs the transfer keeps busy.", ""]
    chosen = tp.in_families(run.transports("throughput"), tp.CEILING, tp.PIPE, tp.RIVAL)
    sizes = an.key_sizes(run.sizes("throughput", chosen))
    if not chosen or not sizes:
        return out + ["No throughput rows in this run.", ""]
    rows = [[f"`{t}`"] + [_cpu_cell(run, t, s) for s in sizes] for t in chosen]
    out += ["CPU seconds per GiB in the throughput workload (and CPUs kept busy):", ""]
    out += _table(["transport"] + [_size(run, s, chosen) for s in sizes], rows)
    out.append("")
    s = sizes[-1]
    lead = _lead_or_baseline(run, an.CPU_STREAM, s)
    if lead is not None:
        compared = [_say(run, an.CPU_STREAM, t, s)
                    for t in (roles.baseline, roles.practical_ceiling, roles.yardstick)
                    if t != lead and _has(run, t, "throughput")]
        out.append(f"At {human_size(s)}, a GiB through `{lead}` costs "
                   f"{fmt_number(an.value(run, an.CPU_STREAM, lead, s))} CPU-seconds"
                   + (", against " + ", ".join(compared) if compared else "") + ".")
        out.append("")
    out += _chart(charts, "cpu_per_gib")
    return out


def _cpu_cell(run: Run, t: str, s: int) -> str:
    cpu = an.value(run, an.CPU_STREAM, t, s)
    if cpu is None:
        return _cell(run, an.CPU_STREAM, t, s)
    gibs = an.value(run, an.THROUGHPUT, t, s)
    return (fmt_number(cpu) + (f" ({fmt_number(cpu * gibs)} CPUs)" if gibs is not None else "")
            + _marks(run, "throughput", t, s))


def _python(run: Run, charts: Dict[str, str]) -> Lines:
    out = ["## Python, like for like, and the \"serialization overhead\" claim", "",
           "A common claim is that pipes \"may not be optimal for extensive data transfers due "
           "to serialization overheads\". The data separates the costs that claim lumps "
           "together. Python is compared with C++ only where one thing differs, the language:",
           ""]
    out += [f"- `{p.python}` against `{p.cpp}`: {p.alike}" +
            ("" if p.latency_alike else " (throughput only: the round trip's way back differs)")
            + "." for p in tp.PYTHON_PAIRS]
    out.append("")
    py = tp.in_families(run.transports(), tp.PYTHON)
    if not py:
        return out + ["The Python rows were not measured in this run (no `python.json`), so "
                      "this run cannot split Python's cost from the pipe's. Run "
                      "`./scripts/python_baselines --out RUN_DIR/python.json` and re-plot.", ""]
    pairs = an.python_pairs(run, an.THROUGHPUT)
    if not pairs:
        return out + ["No like-for-like pair was measured on both sides in this run, so "
                      "Python is not compared with C++ here.", ""]
    out += _pair_table(run, an.THROUGHPUT, pairs, "Throughput")
    out += _pair_table(run, an.RTT_P50, an.python_pairs(run, an.RTT_P50), "Median round trip")
    out += [c for c in [_pair_claim(run, p) for p in pairs] + [_one_line_fix(run),
                                                              _pickling(run)] if c]
    rest = [t for t in py if t not in {p.python for p in pairs} | {roles.python_pickling}]
    s = (_largest_common(run, an.THROUGHPUT, [roles.python_pipe])
         if _has(run, roles.python_pipe) else None)
    if rest and s is not None:
        out.append(f"- **Other Python transports** at {human_size(s)} (no C++ twin, so no "
                   "ratio): " + ", ".join(_say(run, an.THROUGHPUT, t, s) for t in rest) + ".")
    out.append("")
    out += _python_conclusion(run, pairs)
    out += _python_latency(run)
    out += _chart(charts, "cpp_vs_python")
    return out


def _pair_table(run: Run, metric: an.Metric, pairs: Sequence[tp.PythonPair],
                title: str) -> Lines:
    """Python's speed as a multiple of its C++ twin's at key sizes (a tie where the rule says)."""
    if not pairs:
        return []
    sizes = an.key_sizes(run.sizes(metric.workload, [p.python for p in pairs]))
    rows = []
    for p in pairs:
        cells = []
        for s in sizes:
            c = an.compare(run, metric, p.python, p.cpp, s)
            cells.append(_gain(c) if c is not None else
                         "—" if run.get(metric.workload, p.python, s) is None
                         else _cell(run, metric, p.python, s))
        rows.append([f"`{p.python}` ÷ `{p.cpp}`"] + cells)
    what = ("Python's ÷ its C++ twin's" if metric.higher_is_better else
            "its C++ twin's ÷ Python's")
    return [f"{title}, {what} (below 1×, Python is slower):", ""] + _table(
        ["pair"] + [_size(run, s, [x for p in pairs for x in (p.python, p.cpp)])
                    for s in sizes], rows) + [""]


def _pair_claim(run: Run, p: tp.PythonPair) -> Optional[str]:
    """One bullet: the pair at the largest size both sides have."""
    s = _largest_common(run, an.THROUGHPUT, [p.python, p.cpp])
    if s is None:
        return None
    c = an.compare(run, an.THROUGHPUT, p.python, p.cpp, s)
    vp, vc = an.value(run, an.THROUGHPUT, p.python, s), an.value(run, an.THROUGHPUT, p.cpp, s)
    verdict = ("a tie" if c.tie else f"{fmt_percent(vp / vc)} of C++" if vp < vc else
               f"{fmt_ratio(c.advantage)} C++")
    return (f"- **`{p.python}` against `{p.cpp}`** ({p.alike}): at {human_size(s)}, "
            f"{fmt_gibs(vp)} against {fmt_gibs(vc)}, {verdict}.")


def _one_line_fix(run: Run) -> Optional[str]:
    """What growing the pipe buys a Python program, Python against Python."""
    grown, plain = roles.python_big_buffer, roles.python_pipe
    s = _largest_common(run, an.THROUGHPUT, [grown, plain])
    if s is None:
        return None
    c = an.compare(run, an.THROUGHPUT, grown, plain, s)
    return (f"- **One line of Python** (Python on both sides): growing the pipe with "
            f"`F_SETPIPE_SZ` (`{grown}`) moves {fmt_gibs(an.value(run, an.THROUGHPUT, grown, s))} "
            f"at {human_size(s)} against `{plain}`'s "
            f"{fmt_gibs(an.value(run, an.THROUGHPUT, plain, s))}: "
            + (f"{fmt_ratio(c.advantage)}." if c.different else "a tie."))


def _pickling_size(run: Run) -> Optional[int]:
    """Where pickling is judged: the largest size at which both Python's plain pipe and its
    pickling queue have a throughput value."""
    return _largest_common(run, an.THROUGHPUT, [roles.python_pipe, roles.python_pickling])


def _pickling(run: Run) -> Optional[str]:
    """Pickling, Python against Python: the queue pickles, send_bytes does not."""
    plain, queue = roles.python_pipe, roles.python_pickling
    s = _pickling_size(run)
    if s is None:
        return None
    c = an.compare(run, an.THROUGHPUT, queue, plain, s)
    verdict = ("so pickling is not what holds Python back here" if c.tie or c.advantage > 1
               else f"so pickling and the hand-off cost {fmt_ratio(1 / c.advantage)} on top of "
                    "`send_bytes`")
    return (f"- **Serialization** (Python on both sides). `{queue}` pickles every message and a "
            "feeder thread writes it to a pipe: "
            f"{fmt_gibs(an.value(run, an.THROUGHPUT, queue, s))} at {human_size(s)}, "
            + (f"a tie with `{plain}`" if c.tie else f"{fmt_ratio(c.advantage)} `{plain}`")
            + f"; {verdict}.")


def _python_conclusion(run: Run, pairs: Sequence[tp.PythonPair]) -> Lines:
    """The answer to the claim, from the like-for-like pairs and pickling (each if measured)."""
    parts = []
    for p in pairs:
        s = _largest_common(run, an.THROUGHPUT, [p.python, p.cpp])
        if s is None:
            continue
        c = an.compare(run, an.THROUGHPUT, p.cpp, p.python, s)
        if p.python == roles.python_pipe:
            parts.append(f"on the same default pipe, Python's own work makes it "
                         f"{fmt_ratio(c.advantage)} slower than C++" if c.different and
                         c.advantage > 1 else
                         "on the same default pipe, Python keeps up with C++")
        else:
            parts.append(f"with `{p.python}` ({p.alike}) C++ is "
                         f"{fmt_ratio(c.advantage)} faster" if c.different and c.advantage > 1
                         else f"`{p.python}` keeps up with `{p.cpp}` ({p.alike})")
    s = _pickling_size(run)
    pickle = (an.compare(run, an.THROUGHPUT, roles.python_pipe, roles.python_pickling, s)
              if s else None)
    if pickle is not None:
        parts.append(f"pickling slows Python a further {fmt_ratio(pickle.advantage)}"
                     if pickle.different and pickle.advantage > 1 else
                     "pickling is not what holds Python back")
    if not parts:
        return []
    text = ("**What the data says about the claim** (each at the largest size both sides "
            "have): " + "; ".join(parts) + ".")
    if pickle is not None:
        text += (" Serialization is a cost of how a program packs its data, and `send_bytes` "
                 "avoids it; it is not a property of pipes.")
    return [text, ""]


def _python_latency(run: Run) -> Lines:
    """Python's cost per message, from the first latency-alike pair at the smallest size."""
    pair = next(iter(an.python_pairs(run, an.RTT_P50)), None)
    if pair is None:
        return []
    sizes = run.sizes("latency", [pair.python, pair.cpp])
    s = sizes[0]
    c = an.compare(run, an.RTT_P50, pair.cpp, pair.python, s)
    py, cpp = (an.value(run, an.RTT_P50, t, s) for t in (pair.python, pair.cpp))
    if c is None:
        return []
    if c.different and py > cpp:
        return [f"Per message, at {human_size(s)}: `{pair.python}`'s median round trip is "
                f"{fmt_ns(py)} against {fmt_ns(cpp)} for `{pair.cpp}` ({pair.alike}), so "
                f"Python adds {fmt_ns(py - cpp)} per round trip ({fmt_ratio(py / cpp)}).", ""]
    return [f"Per message, at {human_size(s)}: `{pair.python}`'s median round trip "
            f"({fmt_ns(py)}) is no slower than `{pair.cpp}`'s ({fmt_ns(cpp)}) by the rule: the "
            "wake-ups, not Python, set it.", ""]


def _machine(run: Run) -> Lines:
    out = ["## Where the answer depends on the machine, and how quiet it was", ""]
    cores = run.cores()
    if cores is not None:
        cpus = run.fact("pipebench_cpus")
        text = f"- **{cores} CPUs**" + (f" (the two processes pinned to CPUs {cpus})" if cpus
                                        else "") + "."
        if cores <= 2:
            text += (" With two CPUs each process owns one and nothing else can run without "
                     "disturbing them" +
                     (f"; a spinning receiver (`{roles.spin}`) occupies a CPU another thread "
                      "would need" if _has(run, roles.spin) else "") +
                     ". More cores change little for one pair of processes but matter when "
                     "several pairs run at once.")
        out.append(text)
    out += _wakeups(run)
    pipe_max = run.fact_int("host_pipe_max_size")
    if pipe_max is not None:
        text = f"- **pipe-max-size = {human_size(pipe_max)}** (`/proc/sys/fs/pipe-max-size`). "
        if pipe_max < 1 << 20:
            text += ("That is below Linux's default of 1 MiB, which caps the big-buffer lever: "
                     f"expect a smaller `{roles.big_buffer_lever}` gain than on a default machine.")
        elif pipe_max == 1 << 20:
            text += ("Linux's default. The big-buffer lever grows pipes to it; a larger limit "
                     "would let pipes grow further (not measured here).")
        else:
            text += "Raised above Linux's 1 MiB default, so pipes could grow larger here."
        soft = run.fact_int("host_pipe_user_pages_soft")
        if soft:
            total = soft * 4096
            text += (f" `pipe-user-pages-soft` = {soft} pages ({human_size(total)}): an "
                     f"unprivileged user's pipes share that much buffer, about "
                     f"{max(total // pipe_max, 1)} pipes at the maximum size, before further "
                     "growth is refused (the library reads back the size it actually got).")
        out.append(text)
    kernel = run.fact("host_kernel")
    if kernel:
        text = f"- **Kernel {kernel}.** Pipe, splice and wake-up paths change between kernels"
        s = _large_size(run, roles.vmsplice_lever)
        c = an.compare(run, an.THROUGHPUT, roles.vmsplice_lever, roles.levers_off, s) if s else None
        if c is not None:
            text += (f"; the vmsplice lever's gain ({fmt_ratio(c.advantage)} at "
                     f"{human_size(s)} here) is the figure to re-check on another kernel"
                     if c.different else
                     f"; the vmsplice lever, a tie with levers off at {human_size(s)} here, may "
                     "pay on another kernel")
        out.append(text + ".")
    thp = run.thp_mode()
    if thp:
        out.append(f"- **Transparent huge pages: `{thp}`.** Large copies (`{roles.yardstick}`, "
                   f"`{roles.practical_ceiling}`, pages spliced by reference) depend on the page "
                   "size; a machine with another THP mode may shift the large-message figures.")
    msgsize, msgmax = run.fact_int("host_mqueue_msgsize_max"), run.fact_int("host_mqueue_msg_max")
    if msgsize is not None:
        text = (f"- **POSIX message queues** are limited here to {human_size(msgsize)} per "
                f"message" + (f" and {msgmax} messages in flight" if msgmax else "") +
                " (`/proc/sys/fs/mqueue`).")
        skipped = [m for m in run.errors() if m.transport == roles.mqueue_rival]
        if skipped:
            sizes = sorted({m.size for m in skipped})
            text += (f" `{roles.mqueue_rival}` has no figure at {size_list(sizes)} "
                     f"({_absent(run, skipped[0].workload, roles.mqueue_rival, skipped[0].size)}).")
        elif _has(run, roles.mqueue_rival):
            text += f" `{roles.mqueue_rival}` carried every size measured."
        out.append(text)
    out += _noise(run)
    return out + [""]


def _wakeups(run: Run) -> Lines:
    """Whether waking the other process, rather than moving bytes, sets small-message latency."""
    blocking = [t for t in tp.BLOCKING_PROBES if _has(run, t, "latency")]
    sizes = run.sizes("latency", blocking)
    if not sizes:
        return []
    s = sizes[0]
    measured = [(t, an.value(run, an.RTT_P50, t, s)) for t in blocking]
    measured = [(t, v) for t, v in measured if v is not None]
    if not measured:
        return []
    (t0, v0), others = measured[0], measured[1:]
    copy = an.value(run, an.RTT_P50, roles.yardstick, s)
    facts = (f"at {human_size(s)} the median round trip of `{t0}` is {fmt_ns(v0)}"
             + (" (" + ", ".join(f"`{t}` {fmt_ns(v)}" for t, v in others) + ")" if others else "")
             + (f", while two copies in one process (`{roles.yardstick}`) take {fmt_ns(copy)}"
                if copy else ""))
    if v0 > WAKEUP_BOUND_NS:
        text = (f"- **Wake-ups dominate small-message latency here**: {facts}. Over "
                f"{fmt_ns(WAKEUP_BOUND_NS)} for a few bytes is not copying; it is waking the "
                "other process on the other CPU, twice per round trip. On virtual machines "
                "that cross-CPU wake-up goes through the hypervisor and costs tens of µs; on "
                "bare metal it is far cheaper, so these latencies, and the small-message "
                "ranking, will differ there.")
    else:
        text = (f"- **Wake-ups are cheap on this machine** (under {fmt_ns(WAKEUP_BOUND_NS)}): "
                f"{facts}.")
    spin = an.value(run, an.RTT_P50, roles.spin, s)
    if spin is not None:
        text += (f" Spinning instead of sleeping (`{roles.spin}`) " +
                 ("avoids most of it" if spin < 0.5 * v0 else "does not avoid it here") +
                 f": {fmt_ns(spin)}.")
    return [text]


def _noise(run: Run) -> Lines:
    """What disturbed the run: load, CPU steal per repetition, spread between repetitions."""
    out = []
    load = run.context.get("load_avg")
    cores = run.cores()
    if isinstance(load, list) and load and cores and float(load[0]) > cores:
        out.append(f"- **The machine was busy** when the run started (1-minute load "
                   f"{float(load[0]):.2f} on {cores} CPUs): figures may be low and noisy.")
    steal = an.per_repetition(run, "steal_pct")
    if steal:
        m, r, worst = max(steal, key=lambda x: x[2])
        disturbed = an.disturbed(run)
        text = (f"- **CPU steal** (time the hypervisor gave to others, as a share of the "
                f"machine's CPU time, per repetition): at most {worst:.1f}% in this run "
                f"(`{m.workload}/{m.transport}/{human_size(m.size)}` repetition {r.index}). ")
        if disturbed:
            text += (f"{len(disturbed)} of {len(steal)} repetitions lost more than "
                     f"{an.STEAL_LIMIT_PCT:g}%: they are *disturbed*, and each benchmark's value "
                     f"is the median of its calm repetitions while at least "
                     f"{an.MIN_UNDISTURBED} were calm.")
            slowdown = an.disturbed_slowdown(run)
            if slowdown:
                text += (f" A disturbed repetition took a median {slowdown[0]:.2f}× its "
                         f"benchmark's median time, a calm one {slowdown[1]:.2f}× "
                         f"({slowdown[2]} disturbed, {slowdown[3]} calm): the hypervisor, "
                         f"not the transport.")
            out.append(text)
            still = an.disturbed_values(run)
            if still:
                out.append(f"  Values that still rest on disturbed repetitions (fewer than "
                           f"{an.MIN_UNDISTURBED} calm ones), marked {DISTURBED_MARK}: " +
                           ", ".join(f"`{m.workload}/{m.transport}/{human_size(m.size)}`"
                                     for m in still) + ".")
        else:
            out.append(text + f"No repetition lost more than {an.STEAL_LIMIT_PCT:g}%.")
    else:
        out.append("- **CPU steal** was not recorded in this run, so a repetition disturbed by "
                   "the hypervisor cannot be told apart.")
    load_reps = an.per_repetition(run, "loadavg_1m")
    if load_reps and cores:
        busiest = max(v for _m, _r, v in load_reps)
        if busiest > cores:
            out.append(f"- **Load during the run** reached {busiest:.2f} (1-minute average at "
                       f"the end of a timed phase) on {cores} CPUs: something else ran.")
    worst = an.widest_spread(run, an.THROUGHPUT)
    if worst is not None:
        m, ratio = worst
        out.append(f"- **Spread between repetitions**: the widest is `{m.transport}`'s "
                   f"throughput at {human_size(m.size)}, whose best repetition is "
                   f"{fmt_ratio(ratio)} its worst.")
    elif all(m.ran <= 1 for m in run.measurements.values()):
        out.append("- **Each figure is a single measurement.** Small-message figures on a "
                   "shared or virtual machine move by tens of per cent between runs; "
                   "`./scripts/bench` (three repetitions, medians) is the run to quote.")
    return out


def _gaps(run: Run) -> Lines:
    out = ["## Not measured, skipped and failed", ""]
    present = set(run.transports())
    expected = [t for t in tp.known_ids() if t not in present]
    if expected:
        out.append("- Not measured in this run: " + ", ".join(f"`{t}`" for t in expected) + ".")
    if "python.json" not in run.files:
        out.append("- `python.json` is absent: the Python rows were not measured in this run.")
    for workload in ("throughput", "latency"):
        all_sizes = run.sizes(workload)
        for t in run.transports(workload):
            missing = [s for s in all_sizes if run.get(workload, t, s) is None]
            if missing:
                out.append(f"- `{t}` {workload}: not measured at {size_list(missing)}.")
    out += _failed_repetitions(run)
    unverified = [m for m in run.ordered() if m.ok and m.counters.get("verified", 1.0) != 1.0]
    for m in unverified:
        out.append(f"- `{m.workload}/{m.transport}/{human_size(m.size)}`: verified = "
                   f"{m.counters['verified']:g}, not every byte was checked.")
    for d in run.duplicates:
        out.append(f"- Measured in both files: {d}.")
    if len(out) == 2:
        out.append("Every known transport was measured at every size, and every repetition "
                   "succeeded.")
    return out + [""]


_KIND_WORDS = {CORRUPTION: "corruption", LOSS: "loss", OTHER_FAILURE: "failed"}


def _failed_repetitions(run: Run) -> Lines:
    """Every failed repetition, even where others of its benchmark succeeded: corruption first,
    then loss, then other failures (run.failures' order); then the skips, once per benchmark."""
    out = []
    skips: Dict[tuple, list] = {}  # benchmark -> [measurement, skipped repetitions, a reason]
    for m, f in run.failures():
        bench = f"`{m.workload}/{m.transport}/{human_size(m.size)}`"
        if f.kind == SKIPPED:
            skips.setdefault(bench, [m, 0, f.message[len(SKIPPED_PREFIX):]])[1] += 1
            continue
        value = ("no value" if not m.ok else "the value is the one that succeeded"
                 if m.n_ok == 1 else f"the value is the median of the {m.n_ok} that did")
        out.append(f"- **{_KIND_WORDS[f.kind]}**: {bench} repetition {f.index} "
                   f"({m.n_ok} of {m.ran} succeeded; {value}): {f.message}")
    for bench, (m, count, reason) in skips.items():
        out.append(f"- {bench} skipped ({count} of {m.ran} repetitions): {reason}")
    return out


def _transports(run: Run) -> Lines:
    return ["## The transports as this run configured them", "",
            "From the rows' labels: each benchmark records the configuration it ran with "
            "(for pipes, the capacity actually got).", ""] + transport_table(run) + [""]


def _appendix(run: Run) -> Lines:
    out = ["## Appendix: all numbers", "",
           "— not measured in this run; *skipped* the transport cannot carry that size; "
           "*error* every repetition failed (reasons above); n/a measured without that counter; "
           f"{CACHE_MARK} {SHORT_MARK} {DISTURBED_MARK} {SAME_CODE_MARK} as explained at the top.",
           ""]
    for metric, title in ((an.THROUGHPUT, "Throughput (GiB/s)"),
                          (an.RTT_P50, "Median round trip (p50)"),
                          (an.RTT_P99, "p99 round trip"),
                          (an.CPU_STREAM, "CPU seconds per GiB, throughput workload"),
                          (an.CPU_PINGPONG, "CPU seconds per GiB, latency workload")):
        transports = run.transports(metric.workload)
        sizes = run.sizes(metric.workload)
        out += [f"### {title}", ""]
        if not transports:
            out += [f"No {metric.workload} rows in this run.", ""]
            continue
        rows = [[f"`{t}`", tp.get(t).family] + [_cell(run, metric, t, s, unit=False)
                                                 for s in sizes] for t in transports]
        out += _table(["transport", "family"] + [_size(run, s) for s in sizes], rows)
        out.append("")
    return out


def render(run: Run, charts: Dict[str, str]) -> str:
    """The whole report; `charts` maps the chart files written ({name: title}) to embed."""
    lines: Lines = []
    lines += _header(run)
    lines += _trust(run)
    lines += _verdict(run, charts)
    lines += _winners(run, charts)
    lines += _levers(run, charts)
    lines += _fractions(run)
    lines += _cpu(run, charts)
    lines += _python(run, charts)
    lines += _machine(run)
    lines += _gaps(run)
    lines += _transports(run)
    lines += _appendix(run)
    while lines and lines[-1] == "":
        lines.pop()
    return "\n".join(lines) + "\n"


def write(run: Run, charts: Dict[str, str], path: str) -> None:
    text = render(run, charts)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)  # a reader never sees half a report
