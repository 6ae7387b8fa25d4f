"""A failed repetition in a real sweep: recorded with its reason, never aborting the sweep.

Runs the pipebench binary (path in PIPEBENCH) as a user would, with three repetitions of one
benchmark, and makes one repetition fail: once through the harness's own test seam
(--inject-corruption) and once by SIGKILLing a peer process in the middle of the sweep. Each time
the sweep must exit 0 and leave complete JSON holding the failed repetition's error row (its
reason) and the other repetitions' verified results, and the report drawn from that JSON
(scripts/plot) must list the failure.
"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest

PIPEBENCH = os.environ.get("PIPEBENCH", "build/harness/pipebench")
PLOT = os.path.join(os.path.dirname(__file__), "..", "..", "scripts", "plot")
BENCHMARK = "throughput/tuned_pipe/bytes:65536/manual_time"


def children(pid):
    """The live (not yet exited) child processes of `pid`."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            pids = [int(p) for p in f.read().split()]
    except OSError:
        return []
    return [p for p in pids if state(p) not in ("Z", None)]


def state(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def kill_while_running(pid):
    """SIGKILLs `pid` if it is still running, stopping it first so that it cannot finish its
    work between the look and the kill. Returns the pid, or None if it had ended."""
    try:
        os.kill(pid, signal.SIGSTOP)
        for _ in range(100):
            if state(pid) in ("T", "t"):
                os.kill(pid, signal.SIGKILL)
                return pid
            if state(pid) in ("Z", "X", None):
                return None
            time.sleep(0.001)
        os.kill(pid, signal.SIGCONT)
    except ProcessLookupError:
        pass
    return None


class SweepWithAFailedRepetition(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.out = os.path.join(self.dir.name, "pipebench.json")

    def tearDown(self):
        self.dir.cleanup()

    def command(self, *extra):
        return [PIPEBENCH, "--transports=tuned_pipe", "--sizes=64K", "--workloads=throughput",
                "--benchmark_repetitions=3", f"--benchmark_out={self.out}",
                "--benchmark_out_format=json", *extra]

    def rows(self):
        with open(self.out) as f:
            data = json.load(f)  # complete JSON, or this raises
        self.assertEqual(data["context"]["repetitions"], "3")
        return [r for r in data["benchmarks"] if r["name"] == BENCHMARK]

    def assert_one_failed_of_three(self, reason):
        rows = self.rows()  # one row per repetition, each its own one-iteration benchmark
        self.assertEqual([r["run_type"] for r in rows], ["iteration"] * 3)
        failed = [r for r in rows if r.get("error_occurred")]
        self.assertEqual(len(failed), 1, [r.get("error_message") for r in failed])
        self.assertIn(reason, failed[0]["error_message"])
        for good in (r for r in rows if not r.get("error_occurred")):
            self.assertEqual(good["verified"], 1)
            self.assertGreater(good["bytes_per_second"], 0)
            self.assertIn("pipes: pipe", good["label"])
        return failed[0]["error_message"]

    def assert_report_lists(self, reason):
        result = subprocess.run([PLOT, self.dir.name], capture_output=True, text=True)
        self.assertEqual(result.returncode, 0, result.stderr)
        with open(os.path.join(self.dir.name, "REPORT.md")) as f:
            self.assertIn(reason, f.read())

    def test_an_injected_corruption_fails_that_repetition_only(self):
        result = subprocess.run(self.command("--benchmark_min_time=0.05",
                                             "--inject-corruption=2"),
                                capture_output=True, text=True, timeout=300)
        self.assertEqual(result.returncode, 0, result.stderr)
        message = self.assert_one_failed_of_three("checksum mismatch (corrupted payload)")
        self.assertIn("receiver: message", message)
        self.assert_report_lists("corrupted payload")

    def test_a_peer_killed_mid_sweep_fails_that_repetition_only(self):
        sweep = subprocess.Popen(self.command("--benchmark_min_time=1"),
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        killed = None
        deadline = time.monotonic() + 60
        while killed is None and time.monotonic() < deadline:
            # A peer that has lived for a while is inside a timed phase: kill it there. The
            # first peers seen are the first repetition's: a failure there once crashed the
            # sweep inside Google Benchmark's statistics.
            peers = children(sweep.pid)
            if peers:
                time.sleep(0.3)
                killed = kill_while_running(peers[0])
            time.sleep(0.01)
        _, stderr = sweep.communicate(timeout=300)
        self.assertIsNotNone(killed, "no peer process was seen")
        self.assertEqual(sweep.returncode, 0, stderr)
        self.assert_one_failed_of_three("killed by signal 9")
        self.assert_report_lists("killed by signal 9")


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
