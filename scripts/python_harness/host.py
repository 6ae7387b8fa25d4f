"""The machine, as harness/src/host_facts.cpp and host_load.cpp read it: the facts recorded in
the JSON context, the last-level cache that sizes the pools, and the CPU steal and load over a
timed phase."""
import argparse
import functools
import os
import platform
import resource
import socket
import sys
from typing import Tuple

from .byte_sizes import parse_size


def first_line(path: str) -> str:
    """The first line of a /proc or /sys file, 'unknown' when unreadable or empty."""
    try:
        with open(path) as f:
            return f.readline().rstrip("\n") or "unknown"
    except OSError:
        return "unknown"


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


@functools.lru_cache(maxsize=None)  # read once: every pool is sized by it
def last_level_cache_bytes() -> int:
    """The largest cache of CPU 0 (sysfs), 0 when unknown, as harness/src/host_facts.cpp."""
    sizes = []
    for index in range(16):
        path = f"/sys/devices/system/cpu/cpu0/cache/index{index}/size"
        try:
            sizes.append(parse_size(first_line(path)))  # "32768K"
        except argparse.ArgumentTypeError:  # no such cache ("unknown")
            pass
    return max(sizes, default=0)


def cpu_ticks() -> Tuple[int, int]:
    """(total, steal) CPU time of all CPUs so far, in clock ticks, from /proc/stat's first line
    ("cpu user nice system idle iowait irq softirq steal guest guest_nice"; guest time is
    already in user and nice, so it is left out of the total); (0, 0) when unreadable."""
    fields = first_line("/proc/stat").split()
    if len(fields) < 9 or fields[0] != "cpu":
        return (0, 0)
    ticks = [int(field) for field in fields[1:9]]
    return (sum(ticks), ticks[7])


def steal_percent(before: Tuple[int, int], after: Tuple[int, int]) -> float:
    """Percent of all CPU time between two cpu_ticks() that the hypervisor gave to others:
    not ours to fix, but recorded per repetition so that a disturbed one shows."""
    total, steal = after[0] - before[0], after[1] - before[1]
    return 100.0 * steal / total if total > 0 and steal >= 0 else 0.0


def load_average_1m() -> float:
    try:
        return os.getloadavg()[0]
    except OSError:
        return -1.0


def rlimit_text(resource_id: int) -> str:
    def text(value: int) -> str:
        return "unlimited" if value == resource.RLIM_INFINITY else str(value)
    try:
        soft, hard = resource.getrlimit(resource_id)
    except (OSError, ValueError):
        return "unknown"
    return f"{text(soft)} (hard {text(hard)})"


def facts() -> dict:
    """The machine and the interpreter, for the JSON context (the keys pipebench writes, and
    the Python ones)."""
    uname = os.uname()
    llc = last_level_cache_bytes()
    return {
        "host_name": socket.gethostname(),
        "executable": sys.argv[0],
        "num_cpus": os.cpu_count(),
        "load_avg": list(os.getloadavg()),
        "python_version": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "python_executable": sys.executable,
        "host_kernel": f"{uname.sysname} {uname.release} {uname.machine}",
        "host_cpu_model": cpu_model(),
        "host_cores": str(os.cpu_count()),
        "host_pipe_max_size": first_line("/proc/sys/fs/pipe-max-size"),
        "host_pipe_user_pages_soft": first_line("/proc/sys/fs/pipe-user-pages-soft"),
        "host_mqueue_msg_max": first_line("/proc/sys/fs/mqueue/msg_max"),
        "host_mqueue_msgsize_max": first_line("/proc/sys/fs/mqueue/msgsize_max"),
        "host_mqueue_queues_max": first_line("/proc/sys/fs/mqueue/queues_max"),
        "host_rlimit_msgqueue": rlimit_text(getattr(resource, "RLIMIT_MSGQUEUE", -1)),
        "host_thp_enabled": first_line("/sys/kernel/mm/transparent_hugepage/enabled"),
        "host_llc_bytes": str(llc) if llc else "unknown",
    }
