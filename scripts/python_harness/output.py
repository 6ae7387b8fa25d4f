"""The one writer of Google Benchmark's shapes (what `pipebench --benchmark_out` writes), so that
the report and compare.py read the Python rows like the C++ ones: the rows (a repetition, an
error, the aggregates), the context, the console lines, and the file, written atomically."""
import datetime
import json
import os
import statistics
import sys
import tempfile
from typing import TYPE_CHECKING, Dict, List, Optional

from . import host
from .payload import PayloadPool

if TYPE_CHECKING:
    from .settings import Settings
    from .supervision import RunResult

# The keys of a row that are not counters (the console leaves them out, aggregates copy them).
NON_COUNTER_KEYS = {"name", "family_index", "per_family_instance_index", "run_name", "run_type",
                    "repetitions", "repetition_index", "threads", "iterations", "time_unit",
                    "label"}


# The name's last argument, by workload (as harness/src/workloads.cpp's benchmark_name).
SCALE_NAMES = {"fanout": "workers", "fanin": "workers", "pairs": "pairs", "openloop": "load"}


def benchmark_name(workload: str, transport_id: str, size: int, scale: int = 0) -> str:
    """`<workload>/<transport>/bytes:<N>[/<scale>:<S>]/manual_time`: /workers:<W> for a worker
    pool, /pairs:<P> for several pairs, /load:<percent of the peak> for the open loop."""
    suffix = f"/{SCALE_NAMES[workload]}:{scale}" if scale else ""
    return f"{workload}/{transport_id}/bytes:{size}{suffix}/manual_time"


def row_header(name: str, family_index: int, repetitions: int) -> dict:
    """What every row of one benchmark starts with."""
    return {"name": name, "family_index": family_index, "per_family_instance_index": 0,
            "run_name": name, "run_type": "iteration", "repetitions": repetitions}


def counters(workload: str, size: int, iterations: int,
             result: "RunResult") -> Dict[str, float]:
    """The row's counters, named and chosen as harness/src/repetition_runner.cpp's: `iterations`
    is messages (all pairs' for pairs) or round trips."""
    values = {"items_per_second": iterations / result.seconds,
              "cpu_s_per_GiB": result.cpu_seconds_per_gib(), "verified": 1.0,
              "messages": float(iterations), "pool_bytes": float(result.pool_bytes),
              "steal_pct": result.steal_pct, "loadavg_1m": result.loadavg_1m}
    if result.pipe_capacity is not None:
        values["pipe_capacity"] = float(result.pipe_capacity)
    if result.slowest_worker_share is not None:
        values["slowest_worker_share"] = result.slowest_worker_share
    if result.slowest_pair_share is not None:
        values["slowest_pair_share"] = result.slowest_pair_share
    if workload == "latency":
        values.update(result.latency or {})
    elif workload == "openloop":
        # The sender spins up to each due time: its CPU is the pacing, not the transport.
        del values["cpu_s_per_GiB"]
        values.update(result.latency or {})
        values.update(result.open_loop or {})
        values["achieved_msgs_per_s"] = values["items_per_second"]
    else:  # throughput, pairs, and a worker pool's aggregate
        values["bytes_per_second"] = iterations * size / result.seconds
    return dict(sorted(values.items()))  # Google Benchmark writes counters in name order


def iteration_row(header: dict, index: int, workload: str, size: int, iterations: int,
                  result: "RunResult") -> dict:
    """The row of a successful repetition (Google Benchmark's run_type "iteration")."""
    row = dict(header, repetition_index=index, threads=1, iterations=iterations,
               # The leader's own clock, per iteration (manual time).
               real_time=result.seconds / iterations * 1e6,
               # User + sys of BOTH processes (a worker pool's: ALL) per iteration (the C++
               # rows carry the idle controller's here; cpu_s_per_GiB is the comparable figure).
               cpu_time=result.cpu_seconds / iterations * 1e6,
               time_unit="us", label=result.label)
    row.update(counters(workload, size, iterations, result))
    return row


def error_row(header: dict, index: int, message: str, label: Optional[str] = None) -> dict:
    """The row of a failed repetition: Google Benchmark's error_occurred and error_message."""
    row = dict(header, repetition_index=index, threads=1, error_occurred=True,
               error_message=message, iterations=0, real_time=0.0, cpu_time=0.0,
               time_unit="us")
    if label:
        row["label"] = label
    return row


def coefficient_of_variation(values: List[float]) -> float:
    mean = statistics.mean(values)
    return statistics.stdev(values) / mean if mean else 0.0


AGGREGATES = (("mean", "time", statistics.mean), ("median", "time", statistics.median),
              ("stddev", "time", statistics.stdev),
              ("cv", "percentage", coefficient_of_variation))


def aggregate_rows(rows: List[dict]) -> List[dict]:
    """Google Benchmark's _mean, _median, _stddev and _cv rows, over the repetitions that
    succeeded (none unless at least two did)."""
    good = [r for r in rows if not r.get("error_occurred")]
    if len(good) < 2:
        return []
    fixed = {"real_time", "cpu_time"}
    measured = ["real_time", "cpu_time"] + [k for k in good[0] if k not in fixed
                                            and k not in NON_COUNTER_KEYS]
    out = []
    for name, unit, statistic in AGGREGATES:
        row = {k: good[0][k] for k in ("name", "family_index", "per_family_instance_index",
                                         "run_name")}
        # `iterations`: how many repetitions are summarised (the successful ones).
        row.update(name=f"{good[0]['run_name']}_{name}", run_type="aggregate",
                   repetitions=good[0]["repetitions"], threads=1, aggregate_name=name,
                   aggregate_unit=unit, iterations=len(good))
        values = {k: float(statistic([r[k] for r in good])) for k in measured}
        row.update(real_time=values.pop("real_time"), cpu_time=values.pop("cpu_time"),
                   time_unit="us")
        labels = {r.get("label") for r in good}
        if len(labels) == 1 and None not in labels:  # as Google Benchmark: the runs' one label
            row["label"] = labels.pop()
        row.update(values)
        out.append(row)
    return out


def context(settings: "Settings", seed: int) -> dict:
    """The document's context: the machine (the same facts as harness/src/host_facts.cpp), the
    pool rule and how this sweep ran."""
    return {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        **host.facts(),
        "payload_pool_rule": PayloadPool.rule(),
        "repetitions_interleaved": "true",
        "schedule_seed": seed,
        "pipebench_cpus": f"{settings.cpus[0]},{settings.cpus[1]}",  # leader, follower
        "min_time_s": settings.min_time,
    }


# Progress on stderr, one line per row (as Google Benchmark's console).


def human(value: float, base: int = 1000) -> str:
    for prefix in ("", "k", "M", "G", "T"):
        if abs(value) < base or prefix == "T":
            return f"{value:.6g}{prefix}"
        value /= base
    return f"{value:.6g}"


def console_line(row: dict) -> str:
    name = row["name"]
    if row.get("error_occurred"):
        return f"{name:<56} ERROR OCCURRED: '{row['error_message']}'"
    shown = []
    for key, value in row.items():
        if key in NON_COUNTER_KEYS or key in ("real_time", "cpu_time", "aggregate_name",
                                              "aggregate_unit"):  # the label is in the JSON
            continue
        if key == "bytes_per_second":
            shown.append(f"{key}={human(value, 1024)}/s")
        elif key == "items_per_second":
            shown.append(f"{key}={human(value)}/s")
        else:
            shown.append(f"{key}={human(value)}")
    if row.get("aggregate_unit") == "percentage":
        times = f"{row['real_time']:>13.2%} {row['cpu_time']:>15.2%}"
    else:
        times = f"{row['real_time']:>12.3f} us {row['cpu_time']:>12.3f} us"
    return f"{name:<56} {times} {row['iterations']:>10} {' '.join(shown)}"


def console_header() -> str:
    return f"{'Benchmark':<56} {'Time':>15} {'CPU (both)':>15} {'Iterations':>10} UserCounters..."


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def write_atomically(path: str, document: dict) -> None:
    """Writes JSON to a temporary file next to `path`, then renames it over `path`: readers
    see the old file or the whole new one, never a truncated one (a full disk fails here)."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, temporary = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp",
                                     dir=directory)
    try:
        with os.fdopen(fd, "w") as out:
            json.dump(document, out, indent=2)
            out.write("\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise
