"""The options of a sweep, as harness/src/sweep_options.hpp: what the command line chose, and
the defaults it chooses from."""
import dataclasses
from typing import TYPE_CHECKING, Optional, Tuple

if TYPE_CHECKING:
    from .child import Fault

DEFAULT_SIZES = [64 << (2 * i) for i in range(11)]  # 64 B, 256 B, ..., 64 MiB: steps of 4
QUICK_SIZES = [64, 4 << 10, 64 << 10, 1 << 20]
DEFAULT_MIN_TIME = 0.5  # seconds, Google Benchmark's default
QUICK_MIN_TIME = 0.1
DEFAULT_WORKERS = [1, 2, 4]  # fanout and fanin: W, as pipebench's
MAX_WORKERS = 64
DEFAULT_PAIRS = [1, 2, 4]  # pairs: P, as pipebench's
MAX_PAIRS = 64
DEFAULT_LOADS = [10, 50, 90]  # openloop: percent of the transport's peak, as pipebench's
DEFAULT_STALL_TIMEOUT = 10.0
# Getting ready reports no progress and may take many seconds: a C++ peer maps and touches a
# pool of up to 1 GiB (copied on write where it stamps), slow on a loaded 2-core host whose
# large cache makes the pool that large. It gets this long, or the stall timeout if longer
# (harness/src/peer_process.cpp's get_ready_limit is the same 60 s).
READY_LIMIT = 60.0


@dataclasses.dataclass(frozen=True)
class Settings:
    min_time: float
    repetitions: int
    cpus: Tuple[int, int]  # (leader, follower); -1 = not pinned
    stall_timeout: float
    peer_binary: str  # py_from_tuned_pipe's C++ side
    fault: Optional["Fault"] = None
    # openloop: nanoseconds between two messages' intended send times (the offered load's
    # inverse), set per run as harness/src/workloads.hpp's run_settings::send_interval.
    send_interval_ns: int = 0
