"""What the tests of the Python harness share: the package on the path, the script, the rows'
expected shapes, and a way to run the script and read its JSON."""
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time

SCRIPTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir)
sys.path.insert(0, SCRIPTS)  # for python_harness

from python_harness import cpp_peer, host, payload  # noqa: E402  (needs the path above)

SCRIPT = os.path.join(SCRIPTS, "python_baselines")

TRANSPORTS = ["py_pipe", "py_pipe_bigbuf", "py_pipe_duplex", "py_queue", "py_shared_memory"]
PIPE_TRANSPORTS = {"py_pipe", "py_pipe_bigbuf", "py_from_tuned_pipe"}  # with pipe_capacity
EVERY_ROW_COUNTERS = {"items_per_second", "cpu_s_per_GiB", "verified", "messages", "pool_bytes",
                      "steal_pct", "loadavg_1m"}
THROUGHPUT_COUNTERS = EVERY_ROW_COUNTERS | {"bytes_per_second"}
LATENCY_COUNTERS = EVERY_ROW_COUNTERS | {"rtt_p50_ns", "rtt_p90_ns", "rtt_p99_ns", "rtt_p999_ns",
                                         "rtt_max_ns"}
CONTEXT_KEYS = {"date", "host_name", "executable", "num_cpus", "python_version",
                "python_implementation", "host_kernel", "host_cpu_model", "host_cores",
                "host_pipe_max_size", "host_pipe_user_pages_soft", "host_mqueue_msg_max",
                "host_mqueue_msgsize_max", "host_mqueue_queues_max", "host_thp_enabled",
                "pipebench_cpus", "host_llc_bytes", "payload_pool_rule",
                "repetitions_interleaved", "schedule_seed"}
NAME = re.compile(r"^(throughput|latency)/(py_[a-z_]+)/bytes:(\d+)/manual_time$")
DEFAULT_PIPE = 64 << 10  # Linux's default pipe capacity


def pool_bytes(size):
    """What a pool of `size`-byte messages spans on this host."""
    return payload.PayloadPool.slots_for(size, host.last_level_cache_bytes()) * size


def run_script(*args, timeout=120):
    """Runs the script with this interpreter; returns (exit status, JSON or None, stderr,
    seconds taken)."""
    with tempfile.TemporaryDirectory() as directory:
        out = os.path.join(directory, "python.json")
        started = time.monotonic()
        done = subprocess.run([sys.executable, SCRIPT, "--out", out, *args],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              universal_newlines=True, timeout=timeout)
        took = time.monotonic() - started
        document = None
        if os.path.exists(out):
            with open(out) as f:
                document = json.load(f)
        leftovers = [n for n in os.listdir(directory) if n != "python.json"]
        if leftovers:
            raise AssertionError(f"temporary files left behind: {leftovers}")
    return done.returncode, document, done.stderr, took


def processes_running(marker: str):
    """The live processes (not zombies) whose command line holds the script and `marker`."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                command = f.read().decode(errors="replace").split("\0")
            with open(f"/proc/{pid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if SCRIPT in " ".join(command) and marker in command and state != "Z":
            found.append(int(pid))
    return found


def processes_left(marker: str, within: float = 10.0):
    """processes_running(marker) once none are, or `within` seconds have passed (SIGKILL is
    delivered, not awaited)."""
    deadline = time.monotonic() + within
    while processes_running(marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    return processes_running(marker)


def run_marked(*args):
    """run_script with a seed of its own, by which its processes can be found afterwards."""
    seed = str(random.randrange(10**9, 10**10))
    status, document, stderr, _ = run_script("--seed", seed, *args)
    return status, document, stderr, seed


def run_script_to(out):
    started = time.monotonic()
    done = subprocess.run([sys.executable, SCRIPT, "--out", out, "--sizes", "64"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=60)
    return done.returncode, None, done.stderr, time.monotonic() - started


def back_to_back(order):
    """Whether each benchmark's repetitions all ran in a row."""
    runs = [key for index, key in enumerate(order) if index == 0 or order[index - 1] != key]
    return len(runs) == len(set(runs))


def find_peer_binary():
    """pipebench_python_peer of the build being tested: $PIPEBENCH_PYTHON_PEER, else the build
    tree ctest runs this from (<build>/scripts/tests), else the repository's build/."""
    candidates = [os.environ.get("PIPEBENCH_PYTHON_PEER", ""),
                  os.path.join(os.getcwd(), os.pardir, os.pardir, "harness",
                               "pipebench_python_peer"),
                  cpp_peer.DEFAULT_PEER_BINARY]
    for path in candidates:
        if path and os.access(path, os.X_OK):
            return os.path.abspath(path)
    return None


PEER_BINARY = find_peer_binary()
