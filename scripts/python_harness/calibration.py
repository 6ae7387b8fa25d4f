"""A benchmark's message count, as Google Benchmark picks its iterations and
harness/src/message_count.cpp follows: pilot runs grow until one is long enough to predict
from, and the count is scaled from it."""
import math
from typing import TYPE_CHECKING, Callable, Tuple

if TYPE_CHECKING:
    from .supervision import RunResult

MAX_ITERATIONS = 1_000_000_000  # Google Benchmark's kMaxIterations
# Calibration stops at a pilot run this share of --min-time long: long enough that start-up costs
# and one descheduled moment do not set the count for every repetition (as message_count.hpp).
PILOT_SHARE = 0.25
TOO_SHORT_SHARE = 0.025  # below it a pilot says too little: the next is ten times longer


def next_iterations(iterations: int, seconds: float, min_time: float) -> int:
    """The next pilot's count (the harness's message_count.cpp): tenfold while a pilot is too
    short to predict from, else aimed at half of min_time; always more than the last."""
    if seconds <= TOO_SHORT_SHARE * min_time:
        grown = iterations * 10
    else:
        grown = math.ceil(iterations * 0.5 * min_time / max(seconds, 1e-9))
    return min(max(grown, iterations + 1), MAX_ITERATIONS)


def calibrate(run: Callable[[int], "RunResult"],
              min_time: float) -> Tuple[int, "RunResult"]:
    """The message count for runs of about `min_time`, from pilot runs of 1, then 10 times more
    (Google Benchmark's growth) until one takes a quarter of `min_time`, scaled from that one.
    Returns the count and the last pilot (with its error, if it failed: no count then)."""
    count = 1
    while True:
        pilot = run(count)
        if (pilot.error or pilot.seconds >= PILOT_SHARE * min_time
                or count >= MAX_ITERATIONS):
            break
        count = next_iterations(count, pilot.seconds, min_time)
    if pilot.error:
        return 0, pilot
    scaled = round(count * min_time / max(pilot.seconds, 1e-9))
    return min(max(scaled, 1), MAX_ITERATIONS), pilot
