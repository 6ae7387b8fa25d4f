"""The command line of scripts/python_baselines.

Usage: python_baselines [--quick] --out FILE [--sizes 64,4K,1M] [--transports py_pipe,...]
                        [--workloads throughput,latency,openloop,pairs,fanout,fanin]
                        [--loads 10,50,90] [--pairs 1,2,4] [--workers 1,2,4]
                        [--min-time SEC] [--repetitions N]
                        [--seed N] [--cpus L,F|none] [--stall-timeout SEC] [--peer-binary PATH]
                        [--benchmark_filter REGEX] [--list]
"""
import argparse
import os
import platform
import random
import re
import sys
import time
from typing import List, NoReturn, Tuple

from .byte_sizes import parse_size
from .child import Fault
from .cpp_peer import DEFAULT_PEER_BINARY
from .output import console_header, context, say, write_atomically
from .fan_workloads import FAN_WORKLOADS
from .settings import (DEFAULT_LOADS, DEFAULT_MIN_TIME, DEFAULT_PAIRS, DEFAULT_SIZES,
                       DEFAULT_STALL_TIMEOUT, DEFAULT_WORKERS, MAX_PAIRS, MAX_WORKERS,
                       QUICK_MIN_TIME, QUICK_SIZES, Settings)
from .sweep import Benchmark, run_sweep
from .transport_registry import FAN_TRANSPORTS, TRANSPORTS, all_ids
from .workloads import DEFAULT_WORKLOADS, OPENLOOP, PAIRS, WORKLOADS

ALL_WORKLOADS = list(WORKLOADS) + [PAIRS] + list(FAN_WORKLOADS)

PROGRAM = "python_baselines"


def parse_list(text: str) -> List[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def parse_sizes(text: str) -> List[int]:
    return [parse_size(part) for part in parse_list(text)]


def counts_from(what: str, highest: int):
    """A parser of a list of whole numbers from 1 to `highest`, e.g. 1,2,4."""
    def parse(text: str) -> List[int]:
        parts = parse_list(text)
        if not parts or not all(p.isdigit() and 1 <= int(p) <= highest for p in parts):
            raise argparse.ArgumentTypeError(f"expected {what} from 1 to {highest}, e.g. 1,2,4")
        return [int(p) for p in parts]
    return parse


parse_workers = counts_from("worker counts", MAX_WORKERS)
parse_pairs = counts_from("pair counts", MAX_PAIRS)
parse_loads = counts_from("loads in percent of the peak", 100)


def default_cpus() -> Tuple[int, int]:
    """The first two CPUs this process may run on (as pipebench), or unpinned with fewer."""
    try:
        allowed = sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return (-1, -1)
    return (allowed[0], allowed[1]) if len(allowed) >= 2 else (-1, -1)


def parse_cpus(text: str) -> Tuple[int, int]:
    if text == "none":
        return (-1, -1)
    parts = parse_list(text)
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        raise argparse.ArgumentTypeError("expected two CPUs, L,F, or none")
    return (int(parts[0]), int(parts[1]))


def parse_arguments(argv: List[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=PROGRAM, description="Measures Python's multiprocessing transports with "
        "pipebench's workloads; writes Google Benchmark-shaped JSON.")
    parser.add_argument("--quick", action="store_true",
                        help="64 B, 4 KiB, 64 KiB, 1 MiB with --min-time 0.1")
    parser.add_argument("--out", metavar="FILE", help="where to write the JSON")
    parser.add_argument("--sizes", type=parse_sizes, metavar="64,4K,1M",
                        help="message sizes (default 64 B to 64 MiB in steps of 4)")
    parser.add_argument("--transports", type=parse_list, metavar="ID,...",
                        help=f"default all: {','.join(all_ids())} (py_pool: fanout and fanin "
                             "only)")
    parser.add_argument("--workloads", type=parse_list, metavar="throughput,latency",
                        default=list(DEFAULT_WORKLOADS),
                        help=f"of {','.join(ALL_WORKLOADS)} (default "
                             f"{','.join(DEFAULT_WORKLOADS)}: the others run only when named)")
    parser.add_argument("--loads", type=parse_loads, default=DEFAULT_LOADS, metavar="10,50,90",
                        help="openloop: the offered rates, in percent of each transport's peak "
                             f"(default {','.join(map(str, DEFAULT_LOADS))})")
    parser.add_argument("--pairs", type=parse_pairs, default=DEFAULT_PAIRS, metavar="1,2,4",
                        help="pairs: how many pairs at once (default "
                             f"{','.join(map(str, DEFAULT_PAIRS))})")
    parser.add_argument("--workers", type=parse_workers, default=DEFAULT_WORKERS,
                        metavar="1,2,4", help="fanout, fanin: how many workers (default "
                        f"{','.join(map(str, DEFAULT_WORKERS))})")
    parser.add_argument("--min-time", type=float, metavar="SEC",
                        help=f"a measurement run lasts at least this long (default "
                             f"{DEFAULT_MIN_TIME}, --quick {QUICK_MIN_TIME})")
    parser.add_argument("--repetitions", type=int, default=1, metavar="N",
                        help="runs per benchmark, interleaved with the other benchmarks' runs; "
                             "N > 1 adds mean, median, stddev, cv rows")
    parser.add_argument("--seed", type=int, metavar="N",
                        help="seed of the shuffled order of the runs (default: a new one, "
                             "written in the JSON as schedule_seed)")
    parser.add_argument("--cpus", type=parse_cpus, default=default_cpus(), metavar="L,F|none",
                        help="CPUs for the leader and the follower (default the first two; "
                             "a worker pool's processes are not pinned)")
    parser.add_argument("--stall-timeout", type=float, default=DEFAULT_STALL_TIMEOUT,
                        metavar="SEC", help="fail a run that makes no progress for SEC")
    parser.add_argument("--peer-binary", default=DEFAULT_PEER_BINARY, metavar="PATH",
                        help="the C++ peer of py_from_tuned_pipe (default "
                             "build/harness/pipebench_python_peer in this repository)")
    parser.add_argument("--benchmark_filter", "--filter", type=re.compile, metavar="REGEX",
                        help="only benchmarks whose name this matches (re.search), as "
                             "pipebench's --benchmark_filter")
    parser.add_argument("--list", action="store_true", help="list the transports and exit")
    parser.add_argument("--inject-fault", type=Fault.parse, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.list:
        return args
    if not args.out:
        parser.error("--out FILE is required")
    unknown = [t for t in args.transports or [] if t not in all_ids()]
    if unknown:
        parser.error(f"unknown transport(s) {','.join(unknown)}; known: {','.join(all_ids())}")
    unknown = [w for w in args.workloads if w not in ALL_WORKLOADS]
    if unknown:
        parser.error(f"unknown workload(s) {','.join(unknown)}; known: {','.join(ALL_WORKLOADS)}")
    if args.min_time is not None and args.min_time <= 0:
        parser.error("--min-time must be positive")
    if args.repetitions < 1 or args.stall_timeout <= 0:
        parser.error("--repetitions and --stall-timeout must be positive")
    return args


def plan(args: argparse.Namespace) -> List[Benchmark]:
    """In pipebench's order (workload, then transport, then size, then workers, pairs or load):
    the order of the JSON; the runs themselves are shuffled (sweep.schedule()). A transport has
    rows only in the workloads it has a form for (py_pool: fanout and fanin)."""
    sizes = args.sizes or (QUICK_SIZES if args.quick else DEFAULT_SIZES)
    scales = {OPENLOOP: args.loads, PAIRS: args.pairs,
              **{workload: args.workers for workload in FAN_WORKLOADS}}
    benchmarks = []
    for workload in args.workloads:
        registry = FAN_TRANSPORTS if workload in FAN_WORKLOADS else TRANSPORTS
        ids = [t for t in (args.transports or all_ids()) if t in registry]
        benchmarks += [Benchmark(workload, registry[t], s, scale) for t in ids for s in sizes
                       for scale in scales.get(workload, [0])]
    chosen = args.benchmark_filter
    return [b for b in benchmarks if chosen is None or chosen.search(b.name)]


def fail(message: str, status: int = 1) -> NoReturn:
    say(f"{PROGRAM}: {message}")
    sys.exit(status)


def main(argv: List[str]) -> int:
    """Runs the sweep the arguments ask for and writes its JSON. Exit status 0 once the sweep
    completed, failed repetitions or not; 1 for a usage error or an unwritable output."""
    args = parse_arguments(argv)
    if args.list:
        for transport_id in all_ids():
            transport = TRANSPORTS.get(transport_id) or FAN_TRANSPORTS[transport_id]
            print(f"{transport.id}\t{transport.summary}")
        return 0
    out_dir = os.path.dirname(os.path.abspath(args.out))
    if not os.path.isdir(out_dir) or not os.access(out_dir, os.W_OK):
        fail(f"cannot write {args.out}: {out_dir} is not a writable directory")
    settings = Settings(
        min_time=args.min_time or (QUICK_MIN_TIME if args.quick else DEFAULT_MIN_TIME),
        repetitions=args.repetitions, cpus=args.cpus, stall_timeout=args.stall_timeout,
        fault=args.inject_fault, peer_binary=os.path.abspath(args.peer_binary))
    seed = args.seed if args.seed is not None else random.randrange(1 << 32)
    document = {"context": context(settings, seed), "benchmarks": []}
    benchmarks = plan(args)
    say(f"{PROGRAM}: {len(benchmarks)} benchmarks, Python {platform.python_version()} "
        f"({platform.python_implementation()}), CPUs {document['context']['pipebench_cpus']}, "
        f"min time {settings.min_time:g} s, {settings.repetitions} repetition(s) interleaved "
        f"(--seed {seed})")
    say(console_header())
    started = time.monotonic()
    try:
        document["benchmarks"] = run_sweep(benchmarks, settings, seed)
    except KeyboardInterrupt:
        fail("interrupted; nothing written", 130)
    try:
        write_atomically(args.out, document)
    except OSError as error:
        fail(f"cannot write {args.out}: {error}")
    say(f"{PROGRAM}: wrote {args.out} in {time.monotonic() - started:.1f} s")
    return 0
