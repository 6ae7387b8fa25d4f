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
open loop's loads. The tables and sentences are crowd.py's, shared with the worker pools: this
module says what the crowd is.
"""
from __future__ import annotations

from typing import List, Optional

import analysis as an
import crowd
from cells import Lines
from results import Run, ScaledWorkload

PAIRS = ScaledWorkload("pairs")
SHARE = "slowest_pair_share"

CROWD = crowd.Crowd(
    workloads=(PAIRS,), share_counter=SHARE, one="pair", many="pairs", symbol="P",
    twin_ran_as="pairs",
    processes=lambda pairs: 2 * pairs,  # a leader and a follower each
    pinned_text=lambda first, second: (
        f"every leader was pinned to CPU {first} and every follower to CPU {second}: at *P* "
        "pairs, *P* processes share each of those two CPUs"),
    unpinned_text="*P* pairs are 2×*P* processes")


def counts(run: Run) -> List[int]:
    """The pair counts measured in this run, fewest first."""
    return CROWD.counts(run)


def aggregate(count: int) -> an.Metric:
    """All pairs' bytes together over the slowest pair's timed phase, at `count` pairs."""
    return CROWD.aggregate(PAIRS, count)


def share(count: int) -> an.Metric:
    """The slowest pair's rate over the pairs' mean at `count` pairs: 1 is perfectly even."""
    return CROWD.share(PAIRS, count)


def oversubscribed(run: Run) -> Optional[List[int]]:
    """The pair counts at which more processes than CPUs had to share the CPUs they ran on."""
    return CROWD.oversubscribed(run)


# -- the section --------------------------------------------------------------------------------

TITLE = "Many pairs at once: aggregate throughput and fairness"


def section(run: Run) -> Lines:
    """The section."""
    out = [f"## {TITLE}", ""]
    if not CROWD.has_rows(run):
        return out + ["Not measured in this run: run `./scripts/bench --pairs`, or `pipebench "
                      "--workloads=pairs` (pair counts from `--pairs`, default 1,2,4).", ""]
    return out + crowd.body(CROWD, run, (
        "Each benchmark ran *P* independent pairs of one transport at once, started together, "
        "each pair its own sender and receiver process running the throughput workload's "
        "stream. A cell is all the pairs' bytes together over the slowest pair's timed phase "
        "(GiB/s)"))
