"""The report's section on a peer on another host: the network transports measured twice, once
with both processes on this host (pipebench.json) and once with the follower on another host,
reached through `pipebench-peer` (remote.json, from `./scripts/bench --remote-peer=HOST:PORT`).
The benchmark names are the same in both files, so results.py loads remote.json as a run of its
own (`Run.remote`) and this section sets the two side by side: throughput and the median round
trip at each size, the remote figure over the local one, and both hosts' facts, since a remote
figure depends on two machines and the path between them.
"""
from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import analysis as an
from cells import Lines, absent, cell, table
from results import REMOTE_FILE, Run
from units import fmt_ns, fmt_ratio, human_size

METRICS = (an.THROUGHPUT, an.RTT_P50)  # what is compared: the stream, and one round trip
# (what the row says, the leader's context key, the follower's): the follower's host facts are
# the leader's keys with PEER_PREFIX.
PEER_PREFIX = "peer_"
FACTS = (("name", "host_name"), ("CPU", "host_cpu_model"), ("cores", "host_cores"),
         ("kernel", "host_kernel"))

TITLE = "Local against remote: the follower on another host"


def transports(run: Run) -> List[str]:
    """The transports measured with a remote follower (none without remote.json)."""
    if run.remote is None:
        return []
    return [t for t in run.remote.transports() if any(
        run.remote.sizes(metric.workload, [t]) for metric in METRICS)]


def sizes(run: Run, transport: str) -> List[int]:
    return sorted({s for metric in METRICS
                   for s in run.remote.sizes(metric.workload, [transport])})


def ratio(run: Run, metric: an.Metric, transport: str,
          size: int) -> Optional[Tuple[float, bool]]:
    """(remote ÷ local, whether the rule tells them apart), or None when either has no value.
    The rule holds the two against the local run's noise floor: the remote run's twin, if any,
    measured another path."""
    remote, local = (an.value(r, metric, transport, size) for r in (run.remote, run))
    c = an.compare_samples(run, metric, an.samples(run.remote, metric, transport, size),
                           an.samples(run, metric, transport, size))
    if c is None:
        return None
    return remote / local, c.different


def peer(run: Run) -> Optional[str]:
    """The address the controller reached the peer at, as the remote run recorded it."""
    return None if run.remote is None else run.remote.fact("remote_peer")


def host_facts(run: Run) -> List[Tuple[str, Optional[str], Optional[str]]]:
    """(fact, this host's value, the peer host's value) for each fact either side recorded.
    This host's facts are the remote run's own (it ran here), else the local run's."""
    out = []
    for name, key in FACTS:
        here = run.remote.fact(key) or run.fact(key)
        there = run.remote.fact(PEER_PREFIX + key)
        if here or there:
            out.append((name, here, there))
    return out


# -- the section --------------------------------------------------------------------------------


def section(run: Run) -> Lines:
    """The section."""
    out = [f"## {TITLE}", ""]
    if run.remote is None:
        return out + [
            f"Not measured in this run (no {REMOTE_FILE}): start `./build/harness/pipebench-peer "
            "--listen=0.0.0.0:7878` on the other host, then run `./scripts/bench "
            "--remote-peer=HOST:7878` here. It measures the transports that reach another host "
            f"with both processes here (pipebench.json) and with the follower there "
            f"({REMOTE_FILE}), and this section sets them side by side (see the README's *A "
            "peer on another host*).", ""]
    chosen = transports(run)
    if not chosen:
        return out + [f"{REMOTE_FILE} holds no throughput or latency rows.", ""]
    address = peer(run)
    out += [
        "The same benchmarks twice: *local*, both processes on this host (this run's "
        "pipebench.json), and *remote*, the follower on another host through `pipebench-peer` " +
        (f"at `{address}`" if address else "(its address was not recorded)") +
        f" ({REMOTE_FILE}). The leader and its clock stayed here; the follower checked every "
        "byte there. Throughput is one-way; the round trip is the latency workload's median; "
        "*remote ÷ local* is the remote figure over the local one (below 1 for throughput, "
        "above 1 for a round trip, when the path costs), written \"tie\" where the rule at the "
        "top cannot tell them apart.", ""]
    out += _hosts(run)
    for t in chosen:
        out += _transport_table(run, t)
        out += _summary(run, t)
    out += _failed(run, chosen)
    return out


def _hosts(run: Run) -> Lines:
    facts = host_facts(run)
    if not facts:
        return ["Neither host's facts were recorded.", ""]
    rows = [[name, here or "not recorded", there or "not recorded"]
            for name, here, there in facts]
    out = table(["", "this host (leader)", "peer host (follower)"], rows) + [""]
    names = [(here, there) for name, here, there in facts if name == "name"]
    if names and names[0][0] and names[0][0] == names[0][1]:
        out += ["Both hosts report the same name: the peer may be this machine in another "
                "network namespace (as `ctest -R remote_peer_netns` runs it), and the path a "
                "virtual link rather than a network.", ""]
    return out


def _ratio_cell(run: Run, metric: an.Metric, t: str, size: int) -> str:
    r = ratio(run, metric, t, size)
    if r is None:
        return "—"
    return fmt_ratio(r[0]) if r[1] else "tie"


def _transport_table(run: Run, t: str) -> Lines:
    rows = []
    for size in sizes(run, t):
        row = [human_size(size)]
        for metric in METRICS:
            row += [cell(run, metric, t, size), cell(run.remote, metric, t, size),
                    _ratio_cell(run, metric, t, size)]
        rows.append(row)
    header = ["size", "throughput, local", "remote", "remote ÷ local",
              "median round trip, local", "remote", "remote ÷ local"]
    return [f"**`{t}`**", ""] + table(header, rows) + [""]


def _summary(run: Run, t: str) -> Lines:
    """What the path cost `t`: the share of the local throughput kept at the largest size both
    measured, and the time added to a round trip at the smallest."""
    said = []
    both = _both(run, an.THROUGHPUT, t)
    if both:
        size = both[-1]
        r = ratio(run, an.THROUGHPUT, t, size)
        said.append(f"at {human_size(size)} it moved {cell(run.remote, an.THROUGHPUT, t, size)} "
                    f"with the follower remote against {cell(run, an.THROUGHPUT, t, size)} "
                    "here" + (f" ({fmt_ratio(r[0])})" if r[1] else " (a tie by the rule)"))
    both = _both(run, an.RTT_P50, t)
    if both:
        size = both[0]
        remote, local = (an.value(x, an.RTT_P50, t, size) for x in (run.remote, run))
        r = ratio(run, an.RTT_P50, t, size)
        said.append(f"at {human_size(size)} the path " +
                    (f"{'added' if remote > local else 'took'} {fmt_ns(abs(remote - local))} "
                     f"{'to' if remote > local else 'off'} the median round trip "
                     f"({fmt_ns(remote)} against {fmt_ns(local)})" if r[1] else
                     f"left the median round trip a tie by the rule ({fmt_ns(remote)} against "
                     f"{fmt_ns(local)})"))
    if not said:
        return [f"`{t}` has no size with a value both here and remote.", ""]
    return [f"`{t}`: " + "; ".join(said) + ".", ""]


def _both(run: Run, metric: an.Metric, t: str) -> List[int]:
    """The sizes at which `t` has a ratio: a value both locally and remotely."""
    return [s for s in sizes(run, t) if ratio(run, metric, t, s) is not None]


def _failed(run: Run, chosen: Sequence[str]) -> Lines:
    """The remote benchmarks without a value (the local ones are listed with the run's own)."""
    missing = [(m.workload, m.transport, m.size) for m in run.remote.errors()
               if m.transport in chosen]
    if not missing:
        return []
    return ["Remote benchmarks without a value: " + "; ".join(
        f"`{w}/{t}/{human_size(s)}` {absent(run.remote, w, t, s)}" for w, t, s in missing) +
        ".", ""]
