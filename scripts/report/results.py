"""Loading a run: Google Benchmark JSON files -> one value per (workload, transport, size).

A run directory holds pipebench.json (the C++ harness) and/or python.json (the Python
baselines), both in Google Benchmark 1.7's JSON shape. Rows are named
`<workload>/<transport>/bytes:<N>[/manual_time]`. With repetitions there is one "iteration"
row per repetition plus "aggregate" rows (mean, median, stddev, cv) whose names carry a
`_median`-style suffix. What the charts and the report use for each benchmark:

- the median aggregate when there is one (what ./scripts/bench's repetitions are for);
- else the median of the successful iteration rows (just the row when there is one);
- else, when every row errored, the error (a message starting "skipped: " means the transport
  cannot carry that size, anything else is a failure). An error is never turned into a number.
"""
from __future__ import annotations

import json
import os
import re
import statistics
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Tuple

import transports as tp
from units import human_size

RESULT_FILES = ("pipebench.json", "python.json")

WORKLOADS = ("throughput", "latency")

_NAME = re.compile(r"^(?P<workload>[^/]+)/(?P<transport>[^/]+)/bytes:(?P<size>\d+)(?:[/_].*)?$")

# Fields of a Google Benchmark row that are not counters.
_NOT_COUNTERS = {"name", "family_index", "per_family_instance_index", "run_name", "run_type",
                 "repetitions", "repetition_index", "threads", "iterations", "time_unit",
                 "aggregate_name", "aggregate_unit", "error_occurred", "error_message", "label"}

Key = Tuple[str, str, int]  # (workload, transport, size in bytes)


@dataclass
class Measurement:
    workload: str
    transport: str
    size: int
    source: str  # the file it came from
    counters: Dict[str, float] = field(default_factory=dict)  # empty when errored
    error: Optional[str] = None
    repetitions: int = 1  # successful repetitions summarised
    summary: str = "a single run"  # how the value was made: "the median of 3 repetitions"...
    cv: Dict[str, float] = field(default_factory=dict)  # coefficient of variation, if given
    time_unit: str = "ns"  # the unit of the real_time and cpu_time counters

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def skipped(self) -> bool:
        return self.error is not None and self.error.startswith("skipped: ")

    def real_time_ns(self) -> Optional[float]:
        """Time per iteration (per message, or per round trip) in nanoseconds."""
        v = self.counters.get("real_time")
        scale = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}.get(self.time_unit)
        return None if v is None or scale is None else v * scale


def parse_name(name: str) -> Optional[Key]:
    m = _NAME.match(name)
    if not m:
        return None
    return m.group("workload"), m.group("transport"), int(m.group("size"))


def load_json(path: str) -> dict:
    """One Google Benchmark JSON file, with a message that names the file when it is unusable."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError) as e:
        raise SystemExit(f"error: cannot read {path}: {e}")
    if not isinstance(data, dict) or not isinstance(data.get("benchmarks"), list):
        raise SystemExit(f"error: {path} is not Google Benchmark JSON (no 'benchmarks' list)")
    return data


def _counters(row: dict) -> Dict[str, float]:
    return {k: float(v) for k, v in row.items()
            if k not in _NOT_COUNTERS and isinstance(v, (int, float)) and not isinstance(v, bool)}


def _summarise(key: Key, rows: List[dict], source: str) -> Measurement:
    """One measurement from every row of one benchmark (see the module docstring)."""
    workload, transport, size = key
    aggregates = {r.get("aggregate_name"): r for r in rows
                  if r.get("run_type") == "aggregate" and not r.get("error_occurred")}
    good = [r for r in rows if r.get("run_type", "iteration") == "iteration"
            and not r.get("error_occurred")]
    errors = [r.get("error_message") or "error (no message)" for r in rows
              if r.get("error_occurred")]
    m = Measurement(workload, transport, size, source,
                    time_unit=str(next((r["time_unit"] for r in rows if "time_unit" in r), "ns")))
    if "cv" in aggregates:
        m.cv = _counters(aggregates["cv"])
    if "median" in aggregates:
        m.counters = _counters(aggregates["median"])
        m.repetitions = int(aggregates["median"].get("repetitions", len(good)) or len(good))
        m.summary = f"the median of {m.repetitions} repetitions"
    elif len(good) == 1:
        m.counters = _counters(good[0])
    elif good:
        # Repetitions without aggregates (e.g. a hand-merged file): the median per counter.
        names = set().union(*(_counters(r) for r in good))
        m.counters = {n: statistics.median(_counters(r)[n] for r in good if n in _counters(r))
                      for n in names}
        m.repetitions = len(good)
        m.summary = f"the median of {len(good)} repetitions"
    else:
        m.error = errors[0] if errors else "no usable row"
        m.repetitions = 0
        m.summary = "errored"
    return m


@dataclass
class Run:
    """Everything the charts and the report know about one run directory."""
    directory: str
    files: List[str]  # the result files found, by base name
    context: Dict[str, object]  # host facts: pipebench.json's context, python.json's filling gaps
    measurements: Dict[Key, Measurement]
    duplicates: List[str]  # benchmarks found in more than one file (the first file's kept)

    # -- lookups ---------------------------------------------------------------------------
    def get(self, workload: str, transport: str, size: int) -> Optional[Measurement]:
        return self.measurements.get((workload, transport, size))

    def value(self, workload: str, transport: str, size: int, counter: str) -> Optional[float]:
        """The counter's value, or None when not measured, errored, or the counter is absent."""
        m = self.get(workload, transport, size)
        if m is None or not m.ok:
            return None
        return m.counters.get(counter)

    def transports(self, workload: Optional[str] = None) -> List[str]:
        """Every transport with at least one row (errored or not), in catalogue order."""
        return tp.ordered(t for (w, t, _s) in self.measurements if workload in (None, w))

    def sizes(self, workload: Optional[str] = None,
              transports: Optional[Iterable[str]] = None) -> List[int]:
        wanted = None if transports is None else set(transports)
        return sorted({s for (w, t, s) in self.measurements
                       if workload in (None, w) and (wanted is None or t in wanted)})

    def errors(self) -> List[Measurement]:
        return sorted((m for m in self.measurements.values() if not m.ok),
                      key=lambda m: (m.workload, tp.sort_key(m.transport), m.size))

    def summaries(self) -> List[str]:
        """How values were made, e.g. ['a single run', 'the median of 3 repetitions']."""
        return sorted({m.summary for m in self.measurements.values() if m.ok})

    def max_cv(self, counter: str) -> Optional[Measurement]:
        """The measurement whose `counter` varied most between repetitions, if cv was recorded."""
        with_cv = [m for m in self.measurements.values() if m.ok and counter in m.cv]
        return max(with_cv, key=lambda m: m.cv[counter]) if with_cv else None

    # -- host facts --------------------------------------------------------------------------
    def fact(self, name: str) -> Optional[str]:
        v = self.context.get(name)
        return None if v in (None, "") else str(v)

    def fact_int(self, name: str) -> Optional[int]:
        v = self.fact(name)
        try:
            return int(v.split()[0]) if v is not None else None
        except ValueError:
            return None

    def cores(self) -> Optional[int]:
        return self.fact_int("host_cores") or self.fact_int("num_cpus")

    def thp_mode(self) -> Optional[str]:
        """'madvise' from 'always [madvise] never' (the kernel brackets the active mode)."""
        v = self.fact("host_thp_enabled")
        if v is None:
            return None
        m = re.search(r"\[(\w+)\]", v)
        return m.group(1) if m else v

    def machine(self) -> str:
        """One line naming the machine, for chart subtitles and the report's header."""
        parts = []
        if self.fact("host_cpu_model"):
            parts.append(self.fact("host_cpu_model"))
        if self.cores():
            parts.append(f"{self.cores()} cores")
        if self.fact("host_kernel"):
            parts.append(self.fact("host_kernel"))
        if self.fact_int("host_pipe_max_size"):
            parts.append(f"pipe-max-size {human_size(self.fact_int('host_pipe_max_size'))}")
        return ", ".join(parts) if parts else "machine not recorded"


def load_run(directory: str) -> Run:
    """Reads whichever of RESULT_FILES exist in `directory`; fails only if none does."""
    files = [f for f in RESULT_FILES if os.path.isfile(os.path.join(directory, f))]
    if not files:
        raise SystemExit(f"error: {directory} holds neither {' nor '.join(RESULT_FILES)}")
    context: Dict[str, object] = {}
    measurements: Dict[Key, Measurement] = {}
    duplicates: List[str] = []
    for name in files:
        data = load_json(os.path.join(directory, name))
        for k, v in (data.get("context") or {}).items():
            context.setdefault(k, v)
        grouped: Dict[Key, List[dict]] = {}
        for row in data["benchmarks"]:
            key = parse_name(row.get("run_name") or row.get("name", ""))
            if key is not None:
                grouped.setdefault(key, []).append(row)
        for key, rows in grouped.items():
            if key in measurements:
                duplicates.append(f"{'/'.join(map(str, key))} (kept {measurements[key].source})")
                continue
            measurements[key] = _summarise(key, rows, name)
    return Run(directory, files, context, measurements, duplicates)
