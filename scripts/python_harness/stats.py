"""Round-trip percentiles, as harness/src/latency_stats.cpp computes them."""
import math
from typing import Dict, Sequence

PERCENTILES = (("rtt_p50_ns", 50.0), ("rtt_p90_ns", 90.0), ("rtt_p99_ns", 99.0),
               ("rtt_p999_ns", 99.9))


def percentile(sorted_samples: Sequence[int], percent: float) -> int:
    """Nearest rank: the smallest sample with at least `percent` % of the samples at or below
    it."""
    rank = math.ceil(percent / 100.0 * len(sorted_samples) - 1e-9)
    rank = min(max(rank, 1), len(sorted_samples))
    return sorted_samples[rank - 1]


def summarise(samples: Sequence[int]) -> Dict[str, float]:
    """The rows' rtt_* counters of `samples` (nanoseconds); empty for no samples."""
    if not samples:
        return {}
    ordered = sorted(samples)
    summary = {key: float(percentile(ordered, p)) for key, p in PERCENTILES}
    summary["rtt_max_ns"] = float(ordered[-1])
    return summary
