"""The charts of a run, each written as NAME.svg and NAME.png into the run directory.

Every chart takes its colours and markers from transports.py and its numbers from analysis.py,
so a transport looks the same everywhere and a chart never disagrees with the report. Points
that errored or were skipped are not drawn; each panel says which ones it left out, and
REPORT.md gives the reasons. Output is deterministic (fixed SVG hash salt, no dates) so that
re-plotting an unchanged run leaves the files unchanged.
"""
from __future__ import annotations

import math
import os
import textwrap
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import matplotlib

matplotlib.use("Agg")  # files only: no display, identical output everywhere
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib import colors, ticker  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

import analysis as an  # noqa: E402
import capacity  # noqa: E402
import openloop  # noqa: E402
import pairs as many_pairs  # noqa: E402  (`pairs` names the Python like-for-like pairs)
import pools  # noqa: E402
import remote  # noqa: E402
import transports as tp  # noqa: E402
from transports import roles  # noqa: E402
from crowd import Crowd  # noqa: E402
from results import Run  # noqa: E402
from units import fmt_ns, fmt_ratio, human_size  # noqa: E402

matplotlib.rcParams.update({
    "svg.hashsalt": "pipebench",  # stable element ids in the SVG
    "svg.fonttype": "path",  # text as paths: renders the same without our fonts installed
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.6,
    "legend.fontsize": 8,
    "legend.framealpha": 0.9,
})

PNG_DPI = 150

# -- shared pieces ---------------------------------------------------------------------------


def _figure(title: str, run: Run, ncols: int, width: float, height: float,
            sharey: bool = False, width_ratios: Optional[Sequence[float]] = None,
            nrows: int = 1):
    fig, axes = plt.subplots(nrows, ncols, figsize=(width, height), sharey=sharey,
                             squeeze=False, layout="constrained",
                             gridspec_kw={"width_ratios": width_ratios} if width_ratios else None)
    # Title, then the machine and how the values were made: a chart must make sense alone.
    fig.suptitle(f"{title}\n{run.machine()}  ·  each value: {run.how_values_were_made()}",
                 fontsize=10.5, x=0.01, ha="left")
    return fig, [ax for row in axes for ax in row]


def _save(fig, directory: str, name: str) -> None:
    base = os.path.join(directory, name)
    fig.savefig(base + ".svg", format="svg", bbox_inches="tight", metadata={"Date": None})
    fig.savefig(base + ".png", format="png", bbox_inches="tight", dpi=PNG_DPI,
                metadata={"Software": None})
    plt.close(fig)


def _size_axis(ax, sizes: Sequence[int]) -> None:
    ax.set_xscale("log", base=2)
    ax.set_xticks(list(sizes))
    ax.set_xticklabels([human_size(s) for s in sizes], rotation=45 if len(sizes) > 6 else 0,
                       ha="right" if len(sizes) > 6 else "center")
    ax.xaxis.set_minor_locator(ticker.NullLocator())
    ax.set_xlabel("message size")
    if sizes:
        ax.set_xlim(sizes[0] / 1.4, sizes[-1] * 1.4)


def _plain_log_y(ax, label: str) -> None:
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _pos: f"{v:,g}"))
    ax.set_ylabel(label)


def _empty(ax, message: str) -> None:
    ax.text(0.5, 0.5, message, transform=ax.transAxes, ha="center", va="center", fontsize=10,
            color="#666666", wrap=True)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)


def _style(transport: str) -> dict:
    s = tp.get(transport)
    return {"color": s.color, "marker": s.marker or None, "linestyle": s.linestyle,
            "linewidth": s.linewidth, "markersize": 5, "label": transport}


def _not_drawn(run: Run, workload: str, transports: Sequence[str],
               sizes: Sequence[int]) -> List[str]:
    """'<transport> 64 KiB, 1 MiB (skipped)' for each plotted transport with errored points,
    and '<batch variant> 64 KiB, 1 MiB (same code as <lead>)' where a line would repeat another
    transport's measurement."""
    notes = []
    for t in transports:
        bad = [run.get(workload, t, s) for s in sizes]
        bad = [m for m in bad if m is not None and not m.ok]
        if bad:
            kinds = sorted({"skipped" if m.skipped else "error" for m in bad})
            notes.append(f"{t} {_size_span([m.size for m in bad], sizes)} ({'/'.join(kinds)})")
        same = [s for s in sizes if tp.same_code_as(t, s) and run.get(workload, t, s)]
        if same:
            notes.append(f"{t} {_size_span(same, sizes)} "
                         f"(same code as {tp.same_code_as(t, same[0])})")
    return notes


def _size_span(chosen: Sequence[int], sizes: Sequence[int]) -> str:
    """'16 KiB to 64 MiB' when `chosen` is a run of consecutive `sizes`, else a list."""
    def name(size: int) -> str:
        return human_size(size).replace(" ", "\u00a0")  # never wrapped between number and unit

    i = list(sizes).index(chosen[0])
    if len(chosen) > 2 and list(sizes[i:i + len(chosen)]) == list(chosen):
        return f"{name(chosen[0])} to {name(chosen[-1])}"
    return ", ".join(name(s) for s in chosen)


def _legend(ax, notes: Sequence[str] = (), where: str = "right", ncol: int = 3,
            prefix: str = "not drawn: ") -> None:
    """The axes' legend outside the plot, ending with what was not drawn and why (or other
    notes, after `prefix`)."""
    handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return  # an empty panel says why in its middle
    for note in dict.fromkeys(notes):  # de-duplicated, in order
        handles.append(Line2D([], [], linestyle="none"))
        labels.append(textwrap.fill(f"{prefix}{note}", 34, subsequent_indent="  "))
    if where == "right":
        ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0)
    else:
        rotated = len(ax.get_xticks()) > 6  # slanted size labels need more room
        ax.legend(handles, labels, loc="upper center", ncol=ncol, borderaxespad=0,
                  bbox_to_anchor=(0.5, -0.22 if rotated else -0.14))


def _lines(ax, run: Run, metric: an.Metric, transports: Sequence[str], sizes: Sequence[int],
           scale: float = 1.0) -> int:
    """One line per transport (gaps where a size is missing); returns how many were drawn."""
    drawn = 0
    for t in transports:
        ys = [None if tp.same_code_as(t, s) else an.value(run, metric, t, s) for s in sizes]
        if all(y is None for y in ys):
            continue
        ax.plot(sizes, [math.nan if y is None else y * scale for y in ys], **_style(t))
        drawn += 1
    return drawn


def _line_panel(ax, run: Run, metric: an.Metric, transports: Sequence[str], title: str,
                ylabel: str, scale: float = 1.0) -> List[str]:
    """A log-log panel of `metric` against size (or a message when there is no data); returns
    the notes on points it could not draw, for the legend."""
    sizes = run.sizes(metric.workload, transports)
    ax.set_title(title)
    if not sizes:
        _empty(ax, f"no {metric.workload} rows for these transports in this run")
        return []
    if not _lines(ax, run, metric, transports, sizes, scale):
        _empty(ax, f"every {metric.workload} row for these transports failed or was skipped "
                   "(see REPORT.md)")
        return []
    _size_axis(ax, sizes)
    _plain_log_y(ax, ylabel)
    return _not_drawn(run, metric.workload, transports, sizes)


def _families(run: Run, *families: str, extra: Sequence[str] = ()) -> List[str]:
    return tp.ordered(set(tp.in_families(run.transports(), *families)) |
                      {t for t in extra if t in run.transports()})


# -- the charts ------------------------------------------------------------------------------


def throughput_vs_size(run: Run, directory: str) -> None:
    fig, (left, right) = _figure("Throughput against message size (higher is better; "
                                 f"{roles.yardstick}, dashed, is the in-process ceiling)", run,
                                 2, 15, 7.2, sharey=True)
    notes = _line_panel(left, run, an.THROUGHPUT, _families(run, tp.CEILING, tp.PIPE, tp.LEVER),
                        "pipes: naive, the tuned library, and each lever alone",
                        "throughput (GiB/s)")
    _legend(left, notes, "below")
    notes = _line_panel(right, run, an.THROUGHPUT,
                        _families(run, tp.CEILING, tp.RIVAL, tp.PYTHON,
                                  extra=(roles.baseline, roles.lead, roles.loan)),
                        "against the rivals and Python", "throughput (GiB/s)")
    _legend(right, notes, "below")
    right.tick_params(labelleft=True)
    _save(fig, directory, "throughput_vs_size")


def latency_vs_size(run: Run, directory: str) -> None:
    chosen = _families(run, tp.CEILING, tp.PIPE, tp.RIVAL)
    fig, (p50, p99) = _figure("Round-trip latency against message size (lower is better; "
                              "one-way is half; the levers and Python have their own charts)",
                              run, 2, 14, 6, sharey=True)
    notes = _line_panel(p50, run, an.RTT_P50, chosen, "median (p50) round trip",
                        "round trip (µs)", scale=1e-3)
    notes += _line_panel(p99, run, an.RTT_P99, chosen, "p99 round trip", "round trip (µs)",
                         scale=1e-3)
    _legend(p99, notes)
    p99.tick_params(labelleft=True)
    _save(fig, directory, "latency_vs_size")


def cpu_per_gib(run: Run, directory: str) -> None:
    chosen = _families(run, tp.CEILING, tp.PIPE, tp.RIVAL)
    fig, (stream, pingpong) = _figure("CPU time per GiB moved, both processes, user + system "
                                      "(lower is better; 1 s/GiB = one CPU busy per GiB/s)",
                                      run, 2, 14, 6, sharey=True)
    notes = _line_panel(stream, run, an.CPU_STREAM, chosen,
                        "throughput workload (one-way stream)", "CPU seconds per GiB")
    notes += _line_panel(pingpong, run, an.CPU_PINGPONG, chosen, "latency workload (ping-pong)",
                         "CPU seconds per GiB")
    _legend(pingpong, notes)
    pingpong.tick_params(labelleft=True)
    _save(fig, directory, "cpu_per_gib")


def pipe_levers(run: Run, directory: str) -> None:
    ladder = [t for t, _ref in tp.LEVER_LADDER]
    fig, (bars, lat) = _figure("What each pipe lever buys: the library with one lever at a time, "
                               "then all of them", run, 2, 15, 6.2, width_ratios=(2.6, 1))
    _lever_bars(bars, run, [t for t in ladder if t in run.transports("throughput")])
    _lever_latency(lat, run, [t for t in ladder if t in run.transports("latency")])
    _save(fig, directory, "pipe_levers")


def _lever_bars(ax, run: Run, steps: List[str]) -> None:
    sizes = an.key_sizes(run.sizes("throughput", steps))
    if len(steps) < 2 or not sizes:
        _empty(ax, "fewer than two steps of the lever ladder have throughput rows in this run")
        return
    # Ratios to the baseline put every size on one scale; without it, absolute GiB/s.
    as_ratio = all(an.value(run, an.THROUGHPUT, roles.baseline, s) for s in sizes)

    def height(t: str, s: int) -> Optional[float]:
        if as_ratio:
            return an.fraction(run, an.THROUGHPUT, t, roles.baseline, s)
        return an.value(run, an.THROUGHPUT, t, s)

    drawn = [h for h in (height(t, s) for t in steps for s in sizes) if h]
    if not drawn:
        _empty(ax, "no lever ladder step has a throughput value in this run (see REPORT.md)")
        return
    width = 0.84 / len(steps)
    floor = 1.0 if as_ratio else min(drawn) / 2
    for g, s in enumerate(sizes):
        for i, t in enumerate(steps):
            x = g + (i - (len(steps) - 1) / 2) * width
            same = tp.same_code_as(t, s)  # its bar would credit it with another's figure
            h = None if same else height(t, s)
            if h is None:
                m = run.get("throughput", t, s)
                why = ("not run" if m is None else f"= {same}" if same
                       else "skipped" if m.skipped else "error")
                ax.text(x, floor, why, rotation=90, ha="center", va="bottom", fontsize=6,
                        color="#888888")
                continue
            ax.bar(x, h - floor, bottom=floor, width=width * 0.92, color=tp.get(t).color,
                   edgecolor="white", linewidth=0.3)
            label = fmt_ratio(h) if as_ratio else f"{h:.3g}"
            ax.text(x, h * (1.06 if h >= floor else 1 / 1.06), label, rotation=90, ha="center",
                    va="bottom" if h >= floor else "top", fontsize=6)
        ceiling = height(roles.yardstick, s)
        if ceiling:
            ax.hlines(ceiling, g - 0.45, g + 0.45, colors="black", linestyles="--", linewidth=1.2)
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _p: f"{v:g}"))
    top = max(drawn + [height(roles.yardstick, s) or floor for s in sizes])
    bottom = min(drawn + [floor])
    ax.set_ylim(bottom / 1.6, top * 2.2)  # room for the labels
    ax.set_xticks(range(len(sizes)))
    ax.set_xticklabels([human_size(s) for s in sizes])
    ax.set_xlabel("message size")
    ax.grid(axis="x", visible=False)
    if as_ratio:
        ax.axhline(1.0, color="#444444", linewidth=0.8)
        ax.set_ylabel(f"throughput as a multiple of {roles.baseline} (log scale)")
    else:
        ax.set_ylabel(f"throughput (GiB/s, log scale; {roles.baseline} not measured at every size)")
    ax.set_title("throughput at key sizes")
    handles = [Patch(color=tp.get(t).color, label=t) for t in steps]
    handles.append(Line2D([], [], color="black", linestyle="--",
                          label=f"{roles.yardstick} (ceiling)"))
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=6,
              borderaxespad=0)


def _lever_latency(ax, run: Run, steps: List[str]) -> None:
    sizes = run.sizes("latency", steps)
    if len(steps) < 2 or not sizes:
        _empty(ax, "fewer than two steps of the\nlever ladder have latency rows")
        return
    size = sizes[0]  # the smallest: where per-message cost, not bandwidth, decides
    ax.set_title(f"median round trip at {human_size(size)} (lower is better)")
    ys = list(range(len(steps)))
    for y, t in zip(ys, steps):
        v = an.value(run, an.RTT_P50, t, size)
        if v is None:
            m = run.get("latency", t, size)
            ax.text(0, y, " not run" if m is None else (" skipped" if m.skipped else " error"),
                    va="center", fontsize=7, color="#888888")
            continue
        ax.barh(y, v / 1e3, color=tp.get(t).color, height=0.7)
        ax.text(v / 1e3, y, " " + fmt_ns(v), va="center", fontsize=7)
    ax.set_yticks(ys)
    ax.set_yticklabels(steps)
    ax.invert_yaxis()
    ax.set_xlabel("round trip (µs)")
    ax.grid(axis="y", visible=False)
    ax.margins(x=0.25)


def tuned_vs_rivals(run: Run, directory: str) -> None:
    rows = _families(run, tp.RIVAL) + ([roles.yardstick] if roles.yardstick in run.transports()
                                       else [])
    columns = max(len(run.sizes("throughput")), len(run.sizes("latency")), 1)
    # One map above the other, each as wide as its sizes need, so cell labels stay legible.
    fig, panels = _figure(f"{roles.lead} against each rival: how many times better "
                          f"(blue: {roles.lead} wins, red: the rival wins, ≈: a tie by the "
                          "report's rule)", run, 1,
                          max(8.0, 3.2 + 0.85 * columns), 2.2 + 0.75 * max(len(rows), 2),
                          nrows=2)
    for ax, metric, what in ((panels[0], an.THROUGHPUT, f"throughput: {roles.lead} ÷ rival"),
                             (panels[1], an.RTT_P50, f"p50 round trip: rival ÷ {roles.lead}")):
        _heat_map(ax, run, metric, rows, what)
    _save(fig, directory, "tuned_vs_rivals")


def _cell_note(run: Run, workload: str, transports: Sequence[str], size: int) -> str:
    """Why a cell has no ratio: the first of the transports that lacks a value says why."""
    for t in transports:
        m = run.get(workload, t, size)
        if m is None:
            return "n/m" if t != roles.lead else "tuned\nn/m"
        if not m.ok:
            return "skipped" if m.skipped else "error"
    return "n/a"


def _heat_map(ax, run: Run, metric: an.Metric, rows: List[str], title: str) -> None:
    ax.set_title(title)
    if roles.lead not in run.transports(metric.workload) or not rows:
        _empty(ax, f"{roles.lead} not measured in this run" if rows else "no rivals in this run")
        return
    sizes = run.sizes(metric.workload, rows + [roles.lead])
    found = [[an.compare(run, metric, roles.lead, r, s) for s in sizes] for r in rows]
    logs = [[math.nan if c is None else math.log2(c.advantage) for c in row] for row in found]
    # Symmetric about 1× so that the colour alone says who wins; at least 2× each way, set by
    # the rivals (the yardstick, far ahead of everything at small sizes, just saturates).
    finite = [abs(v) for r, row in zip(rows, logs) if r != roles.yardstick for v in row
              if not math.isnan(v)]
    span = min(max(finite + [1.0]), 6.0)
    cmap = plt.get_cmap("RdBu").copy()
    cmap.set_bad("#e8e8e8")
    image = ax.imshow(logs, cmap=cmap, norm=colors.Normalize(-span, span), aspect="auto")
    for i, row in enumerate(found):
        for j, c in enumerate(row):
            if c is None:
                text, color = _cell_note(run, metric.workload, [roles.lead, rows[i]],
                                         sizes[j]), "#666666"
            else:
                text = ("≈" if c.tie else "") + fmt_ratio(c.advantage)
                color = "white" if abs(math.log2(c.advantage)) > 0.6 * span else "black"
            ax.text(j, i, text, ha="center", va="center", fontsize=7.5, color=color)
    ax.set_xticks(range(len(sizes)))
    ax.set_xticklabels([human_size(s) for s in sizes], rotation=45 if len(sizes) > 6 else 0)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([r + (" (ceiling)" if r == roles.yardstick else "") for r in rows])
    ax.set_xlabel("message size")
    ax.grid(False)
    if roles.yardstick in rows and len(rows) > 1:
        ax.axhline(len(rows) - 1.5, color="black", linewidth=1.2)
    # The lead's place at each size among itself and the rivals (the yardstick is not IPC), and
    # who is first (a tie names everyone in it): one name for a run of sizes, so that the winner
    # reads at a glance.
    top = ax.secondary_xaxis("top")
    top.set_xticks(range(len(sizes)))
    field = [roles.lead] + [r for r in rows if r != roles.yardstick]
    rankings = [an.ranking(run, metric, s, field) for s in sizes]
    places = [next((i + 1 for i, (t, _) in enumerate(r) if t == roles.lead), None)
              for r in rankings]
    top.set_xticklabels([f"{_ordinal(p)} of {len(r)}" if p else "" for p, r in
                         zip(places, rankings)], fontsize=7.5)
    top.tick_params(length=0)
    standings = [an.standing(run, metric, s, field) for s in sizes]
    firsts = [(None if st is None else " = ".join(t for t, _v in st.leaders), s)
              for st, s in zip(standings, sizes)]
    top.set_xlabel(f"{roles.lead}'s place at this size · first: " + _runs_of_winners(firsts),
                   fontsize=8)
    bar = plt.colorbar(image, ax=ax, fraction=0.05, pad=0.02)
    ticks = [v for v in range(-int(span), int(span) + 1)]
    bar.set_ticks(ticks)
    bar.set_ticklabels([f"{2 ** v:g}×" if v >= 0 else f"1/{2 ** -v:g}×" for v in ticks])
    bar.set_label(f"{roles.lead}'s advantage (log scale)")


def _ordinal(n: int) -> str:
    return f"{n}" + ("th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th"))


def _runs_of_winners(firsts: Sequence[Tuple[Optional[str], int]]) -> str:
    """"A at every size", or "A 64 B–1 MiB, B 4 MiB" for consecutive sizes won by the same
    transport."""
    runs: List[List] = []
    for winner, size in firsts:
        if winner is None:
            continue
        if runs and runs[-1][0] == winner:
            runs[-1][2] = size
        else:
            runs.append([winner, size, size])
    if len(runs) == 1 and len(firsts) > 1:
        return f"{runs[0][0]} at every size"
    return ", ".join(f"{w} {human_size(a)}" + (f"–{human_size(b)}" if b != a else "")
                     for w, a, b in runs)


def cpp_vs_python(run: Run, directory: str) -> None:
    """Each like-for-like pair (transports.PYTHON_PAIRS) as one line: Python's speed as a
    multiple of its C++ twin's, so the chart makes only the comparisons the report makes."""
    fig, (thr, lat) = _figure("Python against C++, like for like: Python's speed as a multiple "
                              "of its C++ twin's (below 1×, Python is slower; a hollow point "
                              "is a tie by the report's rule)", run, 2, 14, 6, sharey=True)
    for ax, metric, what in ((thr, an.THROUGHPUT, "throughput: Python ÷ C++"),
                             (lat, an.RTT_P50, "median round trip: C++ ÷ Python")):
        _pair_panel(ax, run, metric, what)
    lat.tick_params(labelleft=True)
    handles, labels = thr.get_legend_handles_labels()  # every pair: some are throughput-only
    if handles:
        handles.append(Line2D([], [], linestyle="none", marker="o", markerfacecolor="white",
                              markeredgecolor="#444444"))
        labels.append("hollow: a tie (the rule cannot tell the two apart)")
        lat.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.02, 1.0),
                   borderaxespad=0)
    _save(fig, directory, "cpp_vs_python")


def _pair_panel(ax, run: Run, metric: an.Metric, title: str) -> None:
    ax.set_title(title)
    pairs = an.python_pairs(run, metric)
    sizes = run.sizes(metric.workload, [t for p in pairs for t in (p.python, p.cpp)])
    drawn = 0
    for p in pairs:
        found = [an.compare(run, metric, p.python, p.cpp, s) for s in sizes]
        if all(c is None for c in found):
            continue
        style = dict(_style(p.python), label=f"{p.python} ÷ {p.cpp}: {p.alike}")
        ax.plot(sizes, [math.nan if c is None else c.advantage for c in found], **style)
        ties = [(s, c.advantage) for s, c in zip(sizes, found) if c is not None and c.tie]
        if ties:  # hollow: the rule cannot tell the two apart here
            ax.plot([s for s, _ in ties], [v for _, v in ties], linestyle="none",
                    marker=style["marker"], markersize=8, markerfacecolor="white",
                    markeredgecolor=style["color"])
        drawn += 1
    if not drawn:
        _empty(ax, "no like-for-like pair has both sides measured in this run")
        return
    ax.axhline(1.0, color="#444444", linewidth=0.8)
    _size_axis(ax, sizes)
    _plain_log_y(ax, "Python's speed ÷ its C++ twin's")


def pipe_capacity(run: Run, directory: str) -> bool:
    """The capacity study: throughput against the capacity the kernel gave (never the one
    asked), one line per message size, a panel per variant. Its lines are message sizes, not
    transports, so they take a sequential palette of their own. False, and no file, when the
    run has no rows of the study."""
    if not capacity.study(run):
        return False
    pts = capacity.points(run)
    variants = list(tp.CAPACITY_VARIANTS)
    sizes = sorted({p.size for p in pts})
    palette = plt.get_cmap("viridis")
    shade = {s: palette(0.9 * i / max(len(sizes) - 1, 1)) for i, s in enumerate(sizes)}
    fig, axes = _figure("Throughput against the pipe capacity the kernel gave (higher is better; "
                        "each point stands at the capacity got, never the one asked)", run,
                        len(variants), 15, 6.4, sharey=True)
    for ax, variant in zip(axes, variants):
        _capacity_panel(ax, run, variant, [p for p in pts if p.variant == variant], shade)
    for ax in axes[1:]:
        ax.tick_params(labelleft=True)
    defaults = [an.value(run, an.THROUGHPUT, v, s) for v in variants for s in sizes]
    top = max([p.value for p in pts] + [d for d in defaults if d is not None], default=1.0)
    axes[0].set_ylim(0, top * 1.1)  # shared: both panels on one scale, from zero
    _save(fig, directory, "pipe_capacity")
    return True


def _capacity_panel(ax, run: Run, variant: str, pts: Sequence[capacity.Point],
                    shade: Dict[int, tuple]) -> None:
    ax.set_title(f"{tp.CAPACITY_VARIANTS[variant]} ({tp.capacity_pattern(variant)}), "
                 f"against {variant} at its default capacity")
    if not pts:
        _empty(ax, "no figure of this variant in this run (see REPORT.md)")
        return
    for s in sorted({p.size for p in pts}):
        line = capacity.at_size(pts, variant, s)
        ax.plot([p.capacity for p in line], [p.value for p in line], color=shade[s], marker="o",
                markersize=5, linewidth=1.8, label=f"{human_size(s)} messages")
        refused = [p for p in line if p.refused]
        if refused:  # a ring: requests for more were refused down to this capacity
            ax.plot([p.capacity for p in refused], [p.value for p in refused], linestyle="none",
                    marker="o", markersize=11, markerfacecolor="none", markeredgecolor=shade[s])
        default = an.value(run, an.THROUGHPUT, variant, s)
        at = capacity.default_capacity(run, variant, s)
        if default is not None and at is not None:
            ax.plot([at], [default], linestyle="none", marker="*", markersize=11,
                    color=shade[s], markeredgecolor="black", markeredgewidth=0.5)
    limit = capacity.pipe_max_size(run)
    ax.axvline(limit.value, color="#666666", linestyle=":", linewidth=1.2,
               label=f"pipe-max-size, {human_size(limit.value)}" +
                     ("" if limit.recorded else " (the kernel default)"))
    ax.plot([], [], linestyle="none", marker="*", markersize=9, color="#999999",
            markeredgecolor="black", markeredgewidth=0.5,
            label=f"{variant} at its default capacity")
    refusals = capacity.refusals(pts)
    if refusals:
        ax.plot([], [], linestyle="none", marker="o", markersize=11, markerfacecolor="none",
                markeredgecolor="#666666", label="ringed: holds rows that asked for more")
    notes = [f"{', '.join(transports)} asked {', '.join(human_size(a) for a in asked)} and got "
             f"{human_size(got)}: drawn at {human_size(got)}, ringed"
             for got, asked, transports in refusals]
    notes += [f"not drawn: {t} {human_size(s)} ({why})"
              for t, s, why in capacity.unplaced(run, variant)]
    ticks = sorted(set(tp.PIPE_CAPACITIES) | {p.capacity for p in pts})
    ax.set_xscale("log", base=2)
    ax.set_xticks(ticks)
    ax.set_xticklabels([human_size(c) for c in ticks], rotation=45 if len(ticks) > 6 else 0)
    ax.xaxis.set_minor_locator(ticker.NullLocator())
    ax.set_xlim(ticks[0] / 1.5, ticks[-1] * 1.5)
    ax.set_xlabel("pipe capacity got (F_GETPIPE_SZ)")
    ax.set_ylabel("throughput (GiB/s)")
    largest = max(p.capacity for p in pts)
    if refusals and largest < ticks[-1]:  # the empty right of the panel is the refusal
        ax.text((largest * ticks[-1]) ** 0.5, 0.5, f"no pipe got more than {human_size(largest)}:"
                "\nlarger requests were refused\n(see REPORT.md)",
                transform=ax.get_xaxis_transform(), ha="center", va="center", fontsize=9,
                color="#666666")
    _legend(ax, notes, "below", ncol=2, prefix="")


def openloop_latency(run: Run, directory: str) -> bool:
    """The open loop: p50, p99 and p99.9 (rows) against the offered rate, a column per message
    size, a line per transport through its loads; ringed points fell behind the rate offered.
    False, and no file, when the run has no openloop rows."""
    sizes = openloop.sizes(run)
    if not sizes:
        return False
    fig, axes = _figure("Open-loop latency against the offered rate: one-way, from each "
                        "message's intended send time, at shares of each transport's own peak "
                        "(lower is better)", run, len(sizes), 6.5 * len(sizes) + 2.5, 11,
                        nrows=len(openloop.PERCENTILES))
    for row, (name, counter) in enumerate(openloop.PERCENTILES):
        for col, size in enumerate(sizes):
            ax = axes[row * len(sizes) + col]
            ax.set_title(f"{name} at {human_size(size)}")
            for t in openloop.transports(run):
                pts = openloop.curve(run, t, size)
                if not pts:
                    continue
                ax.plot([p.offered for p in pts], [p.latency[counter] / 1e3 for p in pts],
                        **_style(t))
                behind = [p for p in pts if not p.kept_up]
                ax.plot([p.offered for p in behind], [p.latency[counter] / 1e3 for p in behind],
                        linestyle="none", marker="o", markersize=11, markerfacecolor="none",
                        markeredgecolor="#d62728")
            for bound in openloop.BOUNDS_NS:
                ax.axhline(bound / 1e3, color="#666666", linestyle=":", linewidth=1.0)
            ax.set_xscale("log")
            ax.set_xlabel("offered rate (messages/s)")
            _plain_log_y(ax, f"{name} latency (µs)")
    top_right = axes[len(sizes) - 1]
    top_right.plot([], [], linestyle="none", marker="o", markersize=11, markerfacecolor="none",
                   markeredgecolor="#d62728", label="fell behind: the queue grew all run")
    top_right.plot([], [], color="#666666", linestyle=":", label="100 µs and 1 ms")
    _legend(top_right, _openloop_not_drawn(run, sizes))
    _save(fig, directory, "openloop_latency")
    return True


def _openloop_not_drawn(run: Run, sizes: Sequence[int]) -> List[str]:
    """'<transport> <size> at <load>% (error)' for each open-loop benchmark without a point."""
    notes = []
    for t in openloop.transports(run):
        for size in sizes:
            for load in openloop.loads(run):
                m = run.get(openloop.at(load), t, size)
                if m is not None and openloop.point(run, t, size, load) is None:
                    why = "skipped" if m.skipped else "error" if not m.ok else "no latency"
                    notes.append(f"{t} {human_size(size)} at {load}% ({why})")
    return notes


def pairs_throughput(run: Run, directory: str) -> bool:
    """Many pairs at once: the pairs' aggregate throughput against how many ran at once, a panel
    per message size, a line per transport; shaded, the counts at which the pairs oversubscribed
    the CPUs. False, and no file, when the run has no pairs rows."""
    return _crowd_throughput(run, directory, many_pairs.CROWD, "pairs_throughput",
                             "Many pairs at once: aggregate throughput against the number of "
                             "pairs (higher is better; all pairs' bytes over the slowest pair's "
                             "time)", "pairs at once")


def fan_throughput(run: Run, directory: str) -> bool:
    """Worker pools: the workers' aggregate throughput against how many there were, a panel per
    direction (rows: fanout, fanin) and message size, a line per transport; shaded, the counts
    at which the workers oversubscribed their CPU. False, and no file, without fan rows."""
    return _crowd_throughput(run, directory, pools.CROWD, "fan_throughput",
                             "Worker pools: aggregate throughput against the number of workers "
                             "(higher is better; all workers' messages together)", "workers")


def _crowd_throughput(run: Run, directory: str, crowd: Crowd, name: str, title: str,
                      xlabel: str) -> bool:
    """A crowd's aggregate against its member count (crowd.py): a row of panels per workload,
    a panel per message size, a line per transport."""
    rows = [(w, w.sizes(run)) for w in crowd.workloads if w.sizes(run)]
    if not rows:
        return False
    counts, ncols = crowd.counts(run), max(len(sizes) for _w, sizes in rows)
    fig, axes = _figure(title, run, ncols, 5.5 * ncols + 2.5, 5.5 * len(rows), sharey=True,
                        nrows=len(rows))
    crowded = crowd.oversubscribed(run) or []
    calm = [c for c in counts if c not in crowded]
    legend_ax, drawn = axes[len(rows[0][1]) - 1], set()
    for row, (workload, sizes) in enumerate(rows):
        for col in range(ncols):
            ax = axes[row * ncols + col]
            if col >= len(sizes):
                ax.set_visible(False)
                continue
            size = sizes[col]
            where = "" if len(crowd.workloads) == 1 else f"{workload.name}, "
            ax.set_title(f"{where}{human_size(size)} messages")
            for t in workload.transports(run):
                if tp.same_code_as(t, size):
                    continue  # the noise-floor twin's line would repeat the lead's
                ys = [an.value(run, crowd.aggregate(workload, c), t, size) for c in counts]
                if any(y is not None for y in ys):
                    ax.plot(counts, [math.nan if y is None else y for y in ys], **_style(t))
                    drawn.add(t)
            ax.set_xscale("log", base=2)
            ax.set_xticks(counts)
            ax.set_xticklabels([str(c) for c in counts])
            ax.xaxis.set_minor_locator(ticker.NullLocator())
            ax.set_xlim(counts[0] / 1.4, counts[-1] * 1.4)
            ax.set_xlabel(xlabel)
            if crowded:  # shaded from midway (log axis) between the last calm count and the first
                start = (calm[-1] * crowded[0]) ** 0.5 if calm else counts[0] / 1.4
                ax.axvspan(start, counts[-1] * 1.4, color="#999999", alpha=0.15, linewidth=0,
                           label="oversubscribed: processes take turns on the CPUs")
            _plain_log_y(ax, "aggregate throughput (GiB/s)")
            ax.tick_params(labelleft=True)
    # The legend beside the top row's last panel, where every chart keeps it, naming the
    # transports of every panel (a Python pool may be in one direction only).
    shown = set(legend_ax.get_legend_handles_labels()[1])
    for t in tp.ordered(drawn - shown):
        legend_ax.plot([], [], **_style(t))
    _legend(legend_ax, _crowd_not_drawn(run, crowd))
    _save(fig, directory, name)
    return True


def _crowd_not_drawn(run: Run, crowd: Crowd) -> List[str]:
    """'<transport> <size> at 1, 2 pairs (skipped)' (after its workload when the crowd has
    several) for each benchmark without a value, and the transports whose line would repeat
    another's (the noise-floor twin)."""
    notes = []
    sizes = sorted({s for w in crowd.workloads for s in w.sizes(run)})
    for t in crowd.transports(run):
        same = [s for s in sizes if tp.same_code_as(t, s)]
        if same:
            notes.append(f"{t} {_size_span(same, sizes)} (same code as "
                         f"{tp.same_code_as(t, same[0])})")
    for workload in crowd.workloads:
        where = "" if len(crowd.workloads) == 1 else f"{workload.name} "
        for t in workload.transports(run):
            for size in workload.sizes(run):
                if tp.same_code_as(t, size):
                    continue
                bad = [(c, m) for c in crowd.counts(run, workload)
                       for m in [run.get(workload.at(c), t, size)] if m is not None and not m.ok]
                if bad:
                    kinds = sorted({"skipped" if m.skipped else "error" for _c, m in bad})
                    notes.append(f"{where}{t} {human_size(size)} at "
                                 f"{', '.join(str(c) for c, _m in bad)} {crowd.many} "
                                 f"({'/'.join(kinds)})")
    return notes


def remote_vs_local(run: Run, directory: str) -> bool:
    """A peer on another host: throughput and the median round trip against message size, a
    line per transport here (solid) and with the follower remote (dashed, same colour). False,
    and no file, when the run has no remote.json."""
    chosen = remote.transports(run)
    if not chosen:
        return False
    where = f" at {remote.peer(run)}" if remote.peer(run) else ""
    fig, axes = _figure(f"Local against remote: solid, both processes here; dashed, the follower "
                        f"on another host{where} (pipebench-peer)", run, 2, 13, 5)
    for ax, metric, label, scale in ((axes[0], an.THROUGHPUT, "throughput (GiB/s, higher is "
                                      "better)", 1.0),
                                     (axes[1], an.RTT_P50, "median round trip (µs, lower is "
                                      "better)", 1e-3)):
        ax.set_title(label.split(" (")[0])
        sizes = sorted({s for t in chosen for s in remote.sizes(run, t)})
        for t in chosen:
            for source, linestyle, kind in ((run, "-", "local"), (run.remote, "--", "remote")):
                ys = [an.value(source, metric, t, s) for s in sizes]
                if any(y is not None for y in ys):
                    ax.plot(sizes, [math.nan if y is None else y * scale for y in ys],
                            **dict(_style(t), linestyle=linestyle, label=f"{t} {kind}"))
        _size_axis(ax, sizes)
        _plain_log_y(ax, label)
    _legend(axes[1])
    _save(fig, directory, "remote_vs_local")
    return True


# Name, title (for the report's captions), and the function that draws it, in report order.
# A chart with nothing to draw in a run returns False: no file is written, and the report
# embeds none.
CHARTS: List[Tuple[str, str, Callable[[Run, str], Optional[bool]]]] = [
    ("throughput_vs_size", "Throughput against message size", throughput_vs_size),
    ("latency_vs_size", "Round-trip latency (p50 and p99) against message size", latency_vs_size),
    ("cpu_per_gib", "CPU seconds per GiB moved", cpu_per_gib),
    ("pipe_levers", "What each pipe lever buys", pipe_levers),
    ("tuned_vs_rivals", f"{roles.lead} against each rival", tuned_vs_rivals),
    ("cpp_vs_python", "C++ against Python's multiprocessing", cpp_vs_python),
    ("pipe_capacity", "Throughput against the pipe capacity got", pipe_capacity),
    ("openloop_latency", "Open-loop latency against the offered rate", openloop_latency),
    ("pairs_throughput", "Many pairs at once: aggregate throughput against the number of pairs",
     pairs_throughput),
    ("fan_throughput", "Worker pools: aggregate throughput against the number of workers",
     fan_throughput),
    ("remote_vs_local", "Local against remote: throughput and median round trip, the follower "
     "here and on another host", remote_vs_local),
]


def draw_all(run: Run, directory: str) -> Dict[str, str]:
    """Writes every chart; returns {name: title} of those written."""
    written = {}
    for name, title, draw in CHARTS:
        if draw(run, directory) is not False:
            written[name] = title
    return written
