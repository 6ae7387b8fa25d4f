"""Latency percentiles, as harness/src/latency_stats.cpp computes them: of round trips (latency,
`rtt_*`) or of one-way delays from each message's intended send time (openloop, `lat_*`)."""
import math
from typing import Dict, Sequence

PERCENTILES = (("p50_ns", 50.0), ("p90_ns", 90.0), ("p99_ns", 99.0), ("p999_ns", 99.9))


def percentile(sorted_samples: Sequence[int], percent: float) -> int:
    """Nearest rank: the smallest sample with at least `percent` % of the samples at or below
    it."""
    rank = math.ceil(percent / 100.0 * len(sorted_samples) - 1e-9)
    rank = min(max(rank, 1), len(sorted_samples))
    return sorted_samples[rank - 1]


def summarise(samples: Sequence[int], prefix: str = "rtt_") -> Dict[str, float]:
    """The rows' `prefix`p50_ns ... `prefix`max_ns counters of `samples` (nanoseconds); empty
    for no samples."""
    if not samples:
        return {}
    ordered = sorted(samples)
    summary = {prefix + key: float(percentile(ordered, p)) for key, p in PERCENTILES}
    summary[prefix + "max_ns"] = float(ordered[-1])
    return summary


def slowest_share(rates: Sequence[float]) -> float:
    """The slowest of `rates` over their mean (1: all alike; 0 when there is none): a worker
    pool's slowest_worker_share and several pairs' slowest_pair_share."""
    mean = sum(rates) / len(rates) if rates else 0.0
    return min(rates) / mean if mean else 0.0
