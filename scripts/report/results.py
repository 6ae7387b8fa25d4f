"""Loading a run: Google Benchmark JSON files -> one measurement per (workload, transport, size).

A run directory holds pipebench.json (the C++ harness) and/or python.json (the Python
baselines), both in Google Benchmark 1.7's JSON shape. Rows are named
`<workload>/<transport>/bytes:<N>[/manual_time]`; every repetition is one "iteration" row with
its `repetition_index`. What the charts and the report use for each benchmark:

- its value: per counter, the median of its successful iteration rows. Google Benchmark's
  aggregate rows (mean, median, stddev, cv) are ignored: they leave out failed repetitions
  silently and are absent when fewer than two succeeded.
- how many repetitions succeeded of how many ran, and every failed repetition's message. A
  message starting "skipped: " means the transport cannot carry that size; anything else is a
  failure, classified (corruption, loss, other) by `failure_kind`. An error is never turned
  into a number, and a failed repetition is never dropped from the account.
- the transport's configuration as the run recorded it: the rows' `label`.

A run made with `./scripts/bench --remote-peer=HOST:PORT` also holds remote.json: the same
benchmarks, by the same names, with the follower on another host. It is loaded as a run of its
own (`Run.remote`), never merged into the local rows that share its names.
"""
from __future__ import annotations

import json
import os
import re
import statistics
from collections import Counter
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Tuple

import transports as tp
from units import human_size

RESULT_FILES = ("pipebench.json", "python.json")
REMOTE_FILE = "remote.json"  # the same benchmarks with the follower on another host

WORKLOADS = ("throughput", "latency")

# A workload run at several scales keeps each scale a benchmark of its own, under a workload
# named for it: openloop/<t>/bytes:<N>/load:50 is keyed ("openloop@50%", t, N),
# pairs/<t>/bytes:<N>/pairs:4 ("pairs@4", t, N) and fanout/<t>/bytes:<N>/workers:2
# ("fanout@2", t, N).
_SCALE_TEXT = {"load": "{}%", "pairs": "{}", "workers": "{}"}
_SCALES = "|".join(_SCALE_TEXT)
_NAME = re.compile(r"^(?P<workload>[^/]+)/(?P<transport>[^/]+)/bytes:(?P<size>\d+)"
                   rf"(?:/(?P<scale>{_SCALES}):(?P<value>\d+))?(?:[/_].*)?$")
# A scale the report does not know: those rows are left out, not merged into one measurement
# across their scales.
_OTHER_SCALE = re.compile(rf"^[^/]+/[^/]+/bytes:\d+(?:/(?:{_SCALES}):\d+)?/(?!(?:{_SCALES}):)"
                          r"[a-z_]+:\d+")

# Fields of a Google Benchmark row that are not counters.
_NOT_COUNTERS = {"name", "family_index", "per_family_instance_index", "run_name", "run_type",
                 "repetitions", "repetition_index", "threads", "iterations", "time_unit",
                 "aggregate_name", "aggregate_unit", "error_occurred", "error_message", "label"}

SKIPPED_PREFIX = "skipped: "

# Kinds of failed repetition, in the order the report lists them: a wrong byte is the gravest.
CORRUPTION, LOSS, OTHER_FAILURE, SKIPPED = "corruption", "loss", "failure", "skipped"
FAILURE_KINDS = (CORRUPTION, LOSS, OTHER_FAILURE, SKIPPED)

Key = Tuple[str, str, int]  # (workload, transport, size in bytes)


def failure_kind(message: str) -> str:
    """The contract's classification of an error row's message."""
    if message.startswith(SKIPPED_PREFIX):
        return SKIPPED
    if "corrupt" in message:
        return CORRUPTION
    if "lost, duplicated or reordered" in message or "were checked" in message:
        return LOSS
    return OTHER_FAILURE


# A repetition during which the hypervisor stole more than this share of the machine's CPU time
# (its steal_pct counter) was disturbed by something that is not the transport: on the reference
# VM such repetitions took a median 1.39x longer than their benchmark's median. They are listed,
# and left out of the median while at least MIN_UNDISTURBED repetitions of the benchmark were not.
DISTURBED_STEAL_PCT = 10.0
MIN_UNDISTURBED = 2


@dataclass(frozen=True)
class Repetition:
    index: int  # repetition_index (0-based), or the row's position when the file has none
    counters: Dict[str, float]

    @property
    def disturbed(self) -> bool:
        return self.counters.get("steal_pct", 0.0) > DISTURBED_STEAL_PCT


@dataclass(frozen=True)
class Failure:
    index: int  # the failed repetition's repetition_index
    message: str

    @property
    def kind(self) -> str:
        return failure_kind(self.message)


@dataclass
class Measurement:
    workload: str
    transport: str
    size: int
    source: str  # the file it came from
    repetitions: List[Repetition] = field(default_factory=list)  # the successful ones
    failures: List[Failure] = field(default_factory=list)  # every failed or skipped one
    requested: int = 1  # repetitions asked for (the rows' "repetitions")
    label: Optional[str] = None  # the transport's configuration, as the rows recorded it
    counters: Dict[str, float] = field(default_factory=dict)  # medians; empty when none succeeded
    time_unit: str = "ns"  # the unit of the real_time and cpu_time counters

    @property
    def n_ok(self) -> int:
        return len(self.repetitions)

    @property
    def kept(self) -> List[Repetition]:
        """The successful repetitions the value is the median of: the undisturbed ones when at
        least MIN_UNDISTURBED of them exist, else all (the value is then marked disturbed)."""
        calm = [r for r in self.repetitions if not r.disturbed]
        return calm if len(calm) >= MIN_UNDISTURBED else list(self.repetitions)

    @property
    def left_out(self) -> int:
        """Successful repetitions left out of the median as disturbed."""
        return len(self.repetitions) - len(self.kept)

    @property
    def disturbed(self) -> bool:
        """The value rests on repetitions the hypervisor disturbed (too few were not)."""
        return any(r.disturbed for r in self.kept)

    @property
    def n_total(self) -> int:
        return len(self.repetitions) + len(self.failures)

    @property
    def ok(self) -> bool:
        return bool(self.repetitions)

    @property
    def error(self) -> Optional[str]:
        """Why there is no value: the first failure (a real one before a skip); None if there is."""
        if self.ok:
            return None
        if not self.failures:
            return "no usable row"
        return min(self.failures, key=lambda f: (f.kind == SKIPPED, f.index)).message

    @property
    def skipped(self) -> bool:
        """Every repetition was skipped: the transport cannot carry this size."""
        return not self.ok and bool(self.failures) and all(f.kind == SKIPPED
                                                          for f in self.failures)

    @property
    def ran(self) -> int:
        """Repetitions that ran (or were asked for, if some rows are missing)."""
        return max(self.requested, self.n_total)

    @property
    def short(self) -> bool:
        """The value rests on fewer successful repetitions than were asked for."""
        return self.ok and self.n_ok < self.ran

    @property
    def summary(self) -> str:
        """How the value was made: 'median of 2 of 3 repetitions', 'a single run'..."""
        ran = self.ran
        if not self.ok:
            return f"no value: 0 of {ran} repetitions succeeded"
        if ran == 1:
            return "a single run"
        if self.n_ok == 1:
            return f"1 of {ran} repetitions (no median)"
        calm = f" ({self.left_out} disturbed left out)" if self.left_out else ""
        if self.n_ok == ran:
            return f"median of {len(self.kept)} of {ran} repetitions{calm}" if calm else \
                f"median of {ran} repetitions"
        return f"median of {len(self.kept)} of {ran} repetitions{calm}"

    def samples(self, counter: str) -> List[float]:
        """The counter in each repetition the value is made of (kept), in repetition order."""
        return [r.counters[counter] for r in self.kept if counter in r.counters]

    def real_time_ns(self) -> Optional[float]:
        """Time per iteration (per message, or per round trip) in nanoseconds."""
        v = self.counters.get("real_time")
        scale = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}.get(self.time_unit)
        return None if v is None or scale is None else v * scale


def parse_name(name: str) -> Optional[Key]:
    m = _NAME.match(name)
    if not m or _OTHER_SCALE.match(name):
        return None
    workload = m.group("workload")
    if m.group("scale"):
        workload += "@" + _SCALE_TEXT[m.group("scale")].format(int(m.group("value")))
    return workload, m.group("transport"), int(m.group("size"))


@dataclass(frozen=True)
class ScaledWorkload:
    """A workload run at several scales (the open loop's loads, the pair counts, the worker
    counts), each scale keyed by parse_name as a workload of its own: 'openloop@50%',
    'pairs@4', 'fanin@2'. The questions every section of such a workload asks of the run."""
    name: str
    suffix: str = ""  # what follows the scale in the key: '%' for a load

    def at(self, scale: int) -> str:
        """The workload under which the measurements of one scale are keyed."""
        return f"{self.name}@{scale}{self.suffix}"

    def scale_of(self, workload: str) -> Optional[int]:
        m = re.fullmatch(re.escape(f"{self.name}@") + r"(\d+)" + re.escape(self.suffix),
                         workload)
        return int(m.group(1)) if m else None

    def scales(self, run: "Run") -> List[int]:
        """The scales measured in this run, lowest first."""
        return sorted({scale for w, _t, _s in run.measurements
                       for scale in [self.scale_of(w)] if scale is not None})

    def transports(self, run: "Run") -> List[str]:
        return tp.ordered({t for w, t, _s in run.measurements if self.scale_of(w) is not None})

    def sizes(self, run: "Run") -> List[int]:
        return sorted({s for w, _t, s in run.measurements if self.scale_of(w) is not None})


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


def _most_common(values: Iterable[str]) -> Optional[str]:
    """The most frequent value, ties to the alphabetically first (so output is deterministic)."""
    counts = Counter(values)
    return min(counts, key=lambda v: (-counts[v], v)) if counts else None


def _summarise(key: Key, rows: List[dict], source: str) -> Measurement:
    """One measurement from every iteration row of one benchmark (see the module docstring)."""
    workload, transport, size = key
    iterations = [r for r in rows if r.get("run_type", "iteration") == "iteration"]
    m = Measurement(workload, transport, size, source,
                    time_unit=str(next((r["time_unit"] for r in rows if "time_unit" in r), "ns")))
    for position, row in enumerate(iterations):
        # pipebench registers each repetition as a benchmark of its own (one row each, all with
        # repetition_index 0 of 1): there, the row's position is its repetition.
        own_repetitions = int(row.get("repetitions") or 1) > 1
        index = int(row.get("repetition_index", position)) if own_repetitions else position
        if row.get("error_occurred"):
            # An error row's counters, if any, are not a measurement.
            m.failures.append(Failure(index, row.get("error_message") or "error (no message)"))
        else:
            m.repetitions.append(Repetition(index, _counters(row)))
    m.repetitions.sort(key=lambda r: r.index)
    m.failures.sort(key=lambda f: f.index)
    m.requested = max([int(r.get("repetitions") or 1) for r in iterations] + [len(iterations), 1])
    # A failed repetition may describe its transport before it knew all (the pipe capacity it
    # would get): the successful rows' label wins when there is one.
    m.label = (_most_common(str(r["label"]) for r in iterations
                            if r.get("label") and not r.get("error_occurred")) or
               _most_common(str(r["label"]) for r in iterations if r.get("label")))
    names = sorted(set().union(*(r.counters for r in m.kept))) if m.repetitions else []
    m.counters = {n: statistics.median(m.samples(n)) for n in names}
    return m


@dataclass
class Run:
    """Everything the charts and the report know about one run directory."""
    directory: str
    files: List[str]  # the result files found, by base name
    context: Dict[str, object]  # host facts: pipebench.json's context, python.json's filling gaps
    measurements: Dict[Key, Measurement]
    duplicates: List[str]  # benchmarks found in more than one file (the first file's kept)
    remote: Optional["Run"] = None  # remote.json: the same benchmarks, the follower elsewhere

    # -- lookups ---------------------------------------------------------------------------
    def get(self, workload: str, transport: str, size: int) -> Optional[Measurement]:
        return self.measurements.get((workload, transport, size))

    def value(self, workload: str, transport: str, size: int, counter: str) -> Optional[float]:
        """The counter's median, or None when not measured, failed, or the counter is absent."""
        m = self.get(workload, transport, size)
        if m is None or not m.ok:
            return None
        return m.counters.get(counter)

    def samples(self, workload: str, transport: str, size: int, counter: str) -> List[float]:
        """The counter in each successful repetition ([] when there is none)."""
        m = self.get(workload, transport, size)
        return [] if m is None else m.samples(counter)

    def transports(self, workload: Optional[str] = None) -> List[str]:
        """Every transport with at least one row (errored or not), in catalogue order."""
        return tp.ordered(t for (w, t, _s) in self.measurements if workload in (None, w))

    def sizes(self, workload: Optional[str] = None,
              transports: Optional[Iterable[str]] = None) -> List[int]:
        wanted = None if transports is None else set(transports)
        return sorted({s for (w, t, s) in self.measurements
                       if workload in (None, w) and (wanted is None or t in wanted)})

    def ordered(self) -> List[Measurement]:
        """Every measurement, by workload, catalogue order and size."""
        return sorted(self.measurements.values(),
                      key=lambda m: (m.workload, tp.sort_key(m.transport), m.size))

    def errors(self) -> List[Measurement]:
        """The benchmarks with no value at all (every repetition failed or was skipped)."""
        return [m for m in self.ordered() if not m.ok]

    def failures(self) -> List[Tuple[Measurement, Failure]]:
        """Every failed or skipped repetition, in the order the report lists them: by kind
        (corruption, loss, other failures, skips), then benchmark, then repetition."""
        found = [(m, f) for m in self.ordered() for f in m.failures]
        return sorted(found, key=lambda mf: FAILURE_KINDS.index(mf[1].kind))  # stable

    def how_values_were_made(self, mark: str = "") -> str:
        """One phrase for the header and the chart subtitles: 'the median of 3 repetitions', or
        with how many values rest on fewer (and the `mark` that tables give them)."""
        made = [m for m in self.measurements.values() if m.ok]
        if not made:
            return "nothing: no successful rows"
        asked = max(m.ran for m in made)
        base = "a single run" if asked == 1 else f"the median of {asked} repetitions"
        short = sum(1 for m in made if m.short)
        return base + (f" ({short} of {len(made)} values from fewer{mark})" if short else "")

    def labels(self, transport: str) -> List[Tuple[str, List[int]]]:
        """The labels the transport's rows carry, each with the sizes it was recorded at, the
        most common first (a label may name a size-dependent setting, as chunking)."""
        sizes: Dict[str, set] = {}
        for m in self.measurements.values():
            if m.transport == transport and m.label:
                sizes.setdefault(m.label, set()).add(m.size)
        count = Counter(m.label for m in self.measurements.values()
                        if m.transport == transport and m.label)
        return [(lbl, sorted(sizes[lbl])) for lbl in sorted(count, key=lambda x: (-count[x], x))]

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

    def llc_bytes(self) -> Optional[int]:
        """The last-level cache in bytes; None when the run says "unknown" or did not record it."""
        return self.fact_int("host_llc_bytes")

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
        if self.llc_bytes():
            parts.append(f"last-level cache {human_size(self.llc_bytes())}")
        return ", ".join(parts) if parts else "machine not recorded"


def load_run(directory: str) -> Run:
    """Reads whichever of RESULT_FILES exist in `directory`; fails only if none does. A
    REMOTE_FILE beside them becomes the run's `remote`, a run of its own."""
    files = [f for f in RESULT_FILES if os.path.isfile(os.path.join(directory, f))]
    if not files:
        raise SystemExit(f"error: {directory} holds neither {' nor '.join(RESULT_FILES)}")
    run = _load_files(directory, files)
    if os.path.isfile(os.path.join(directory, REMOTE_FILE)):
        run.remote = _load_files(directory, [REMOTE_FILE])
    return run


def _load_files(directory: str, files: List[str]) -> Run:
    """One run from `files`: the first file's context wins, the others fill its gaps."""
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
