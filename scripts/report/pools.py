"""The report's section on worker pools (pipebench's `fanout` and `fanin` workloads, and the
Python baselines' pools): a hub and W worker processes of one transport. In fanout the hub deals
N-byte messages to the workers, each message whole to one; in fanin the workers send to the hub.
The section gives the workers' aggregate throughput at each W, how it scales from the fewest
workers to the most, and how evenly the workers were served (the slowest worker's rate over the
workers' mean).

The hub is pinned to the first CPU of --cpus and every worker to the second, so from two workers
on the workers take turns on one CPU: the figures show what that oversubscription costs each
transport, as the many-pairs section does for pairs. The Python baselines pin nothing, so their
rows are W + 1 processes left to the scheduler; the section says which counts oversubscribed
which rows, with the run's own CPU count and pinning.

The harness names the rows `fanout/<transport>/bytes:<N>/workers:<W>` (and `fanin/...`);
results.py keys each worker count as a benchmark of its own ("fanout@4"). The tables and
sentences are crowd.py's, shared with the many pairs: this module says what the crowd is.
"""
from __future__ import annotations

from typing import List, Optional

import crowd
import transports as tp
from cells import Lines
from results import Run, ScaledWorkload

FANOUT = ScaledWorkload("fanout")
FANIN = ScaledWorkload("fanin")
SHARE = "slowest_worker_share"

CROWD = crowd.Crowd(
    workloads=(FANOUT, FANIN), share_counter=SHARE, one="worker", many="workers", symbol="W",
    twin_ran_as="worker pools",
    processes=lambda workers: workers + 1,  # the workers and their hub
    pinned_text=lambda first, second: (
        f"the hub was pinned to CPU {first} and every worker to CPU {second}: at *W* workers, "
        f"*W* processes share CPU {second}"),
    unpinned_text="*W* workers and their hub are *W* + 1 processes")

TITLE = "Worker pools: fanout and fanin"


def section(run: Run) -> Lines:
    """The section."""
    out = [f"## {TITLE}", ""]
    if not CROWD.has_rows(run):
        return out + ["Not measured in this run: run `./scripts/bench --fan`, or `pipebench "
                      "--workloads=fanout,fanin` (worker counts from `--workers`, default 1,2,4) "
                      "and `./scripts/python_baselines --workloads fanout,fanin` for Python's "
                      "pools.", ""]
    python = _python_placement(run)
    return out + crowd.body(CROWD, run, (
        "Each benchmark ran a hub and *W* worker processes of one transport, each built as its "
        "users would build a pool: in *fanout* the hub deals N-byte messages to the workers "
        "(each message whole to one, every byte checked by the worker that got it), in *fanin* "
        "the workers send to the hub, which checks every byte. A cell is all the workers' "
        "messages together, over the time until every worker had acknowledged (fanout) or "
        "ended its stream (fanin) (GiB/s)"), [python] if python else [])


def _python_placement(run: Run) -> Optional[str]:
    """Where the Python pools ran, when the C++ ones were pinned and Python's were not."""
    python = [t for t in CROWD.transports(run) if tp.get(t).family == tp.PYTHON]
    if not python or crowd.pinned_cpus(run) is None:
        return None
    cores, crowded = run.cores(), CROWD.oversubscribed(run, pinned=False)
    text = (", ".join(f"`{t}`" for t in python) + " ran unpinned (the Python baselines leave "
            "their processes to the scheduler): at *W* workers, the hub and its workers are "
            f"*W* + 1 processes on {'the machine' if cores is None else f'{cores} CPUs'}")
    if crowded is None:
        return text + "."
    if not crowded:
        return text + ", so no worker count measured here oversubscribed them."
    return text + f", oversubscribed at {CROWD.counts_text(crowded)}."


def counts(run: Run) -> List[int]:
    """The worker counts measured in this run (in either direction), fewest first."""
    return CROWD.counts(run)
