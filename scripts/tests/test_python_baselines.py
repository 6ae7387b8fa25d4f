"""Tests of scripts/python_baselines, run as a command: the JSON of a tiny sweep of every
transport, the interleaved repetitions, a dead or frozen peer becoming an error row within seconds
instead of a hang, one failed repetition an error row among the others, and py_from_tuned_pipe's
C++ peer (pipebench_python_peer) sending the very bytes the Python receiver checks."""
import multiprocessing
import os
import shutil
import subprocess
import sys
import unittest
from unittest import mock

from python_harness_testing import (CONTEXT_KEYS, DEFAULT_PIPE, LATENCY_COUNTERS, NAME,
                                    PEER_BINARY, PIPE_TRANSPORTS, THROUGHPUT_COUNTERS,
                                    TRANSPORTS, back_to_back, pool_bytes, run_script)

from python_harness import byte_sizes, payload, sweep


class SweepTest(unittest.TestCase):
    """A real, tiny sweep of every transport and workload."""

    @classmethod
    def setUpClass(cls):
        cls.status, cls.document, cls.stderr, _ = run_script("--sizes", "64,4096",
                                                             "--min-time", "0.01",
                                                             "--transports", ",".join(TRANSPORTS))

    def test_it_succeeds_and_reports_progress(self):
        self.assertEqual(self.status, 0, self.stderr)
        self.assertIn("throughput/py_pipe/bytes:64/manual_time", self.stderr)

    def test_the_context_records_the_machine(self):
        context = self.document["context"]
        self.assertLessEqual(CONTEXT_KEYS, set(context))
        self.assertEqual(context["python_version"].split(".")[:2],
                         [str(v) for v in sys.version_info[:2]])

    def test_every_benchmark_has_one_verified_row_with_its_counters(self):
        rows = self.document["benchmarks"]
        expected = {f"{w}/{t}/bytes:{n}/manual_time" for w in ("throughput", "latency")
                    for t in TRANSPORTS for n in (64, 4096)}
        self.assertEqual([r["name"] for r in rows if r["name"] in expected],
                         [r["name"] for r in rows])
        self.assertEqual({r["name"] for r in rows}, expected)
        for row in rows:
            with self.subTest(row=row["name"]):
                self.assertNotIn("error_occurred", row, row.get("error_message"))
                workload, transport, size = NAME.match(row["name"]).groups()
                self.assertEqual(row["run_name"], row["name"])
                self.assertEqual(row["run_type"], "iteration")
                self.assertEqual((row["repetitions"], row["repetition_index"], row["threads"]),
                                 (1, 0, 1))
                self.assertEqual(row["time_unit"], "us")
                self.assertGreater(row["iterations"], 0)
                self.assertGreater(row["real_time"], 0)
                self.assertGreater(row["cpu_time"], 0)
                counters = THROUGHPUT_COUNTERS if workload == "throughput" else LATENCY_COUNTERS
                self.assertLessEqual(counters, set(row))
                self.assertTrue(row["label"])
                self.assertEqual(row["messages"], row["iterations"])
                self.assertEqual(row["pool_bytes"], pool_bytes(int(size)))
                self.assertGreaterEqual(row["steal_pct"], 0)
                self.assertEqual("pipe_capacity" in row, transport in PIPE_TRANSPORTS)
                if transport in PIPE_TRANSPORTS:
                    self.assertGreaterEqual(row["pipe_capacity"], 4096)
                    self.assertIn(byte_sizes.size_text(int(row["pipe_capacity"])), row["label"])
                self.assertEqual(row["verified"], 1)
                self.assertGreater(row["cpu_s_per_GiB"], 0)
                self.assertAlmostEqual(row["items_per_second"] * row["real_time"] / 1e6, 1.0)
                if workload == "throughput":
                    self.assertAlmostEqual(row["bytes_per_second"] / row["items_per_second"],
                                           int(size))
                else:
                    self.assertLessEqual(row["rtt_p50_ns"], row["rtt_p90_ns"])
                    self.assertLessEqual(row["rtt_p99_ns"], row["rtt_p999_ns"])
                    self.assertLessEqual(row["rtt_p999_ns"], row["rtt_max_ns"])

    def test_py_pipe_bigbuf_gets_a_bigger_pipe_where_pipe_max_size_allows(self):
        if int(self.document["context"]["host_pipe_max_size"]) <= DEFAULT_PIPE:
            self.skipTest("pipe-max-size allows no more than a default pipe")
        for row in self.document["benchmarks"]:
            transport = NAME.match(row["name"]).group(2)
            if transport == "py_pipe_bigbuf":
                self.assertGreater(row["pipe_capacity"], DEFAULT_PIPE, row["label"])
                self.assertNotIn("refused", row["label"])
            elif transport == "py_pipe":
                self.assertEqual(row["pipe_capacity"], DEFAULT_PIPE)

    def test_the_rows_are_grouped_by_benchmark_in_plan_order(self):
        names = [r["name"] for r in self.document["benchmarks"]]
        self.assertEqual(names[0], "throughput/py_pipe/bytes:64/manual_time")
        self.assertEqual(names[-1], "latency/py_shared_memory/bytes:4096/manual_time")

    def test_repetitions_add_google_benchmark_aggregates(self):
        status, document, stderr, _ = run_script(
            "--sizes", "64", "--min-time", "0.01", "--repetitions", "2",
            "--transports", "py_pipe", "--workloads", "throughput")
        self.assertEqual(status, 0, stderr)
        base = "throughput/py_pipe/bytes:64/manual_time"
        self.assertEqual([r["name"] for r in document["benchmarks"]],
                         [base, base] + [f"{base}_{a}" for a in ("mean", "median", "stddev", "cv")])
        self.assertEqual([r.get("repetition_index") for r in document["benchmarks"][:2]], [0, 1])


class RepetitionFailureTest(unittest.TestCase):
    """One failed repetition out of three: an error row with its reason between the two good
    ones, aggregates over those two, the sweep complete, exit status 0."""

    SEED = "1"  # with it, schedule(2, 3) interleaves the two benchmarks: 0 1 1 0 1 0

    def run_with_fault(self, fault, min_time="0.05"):
        status, document, stderr, _ = run_script(
            "--sizes", "64,4096", "--min-time", min_time, "--repetitions", "3",
            "--seed", self.SEED, "--transports", "py_pipe", "--workloads", "throughput",
            "--inject-fault", fault)
        self.assertEqual(status, 0, stderr)
        return document, stderr

    def check_benchmark(self, rows, name, failed_index, stderr):
        mine = [r for r in rows if r["run_name"] == name]
        repetitions = [r for r in mine if r["run_type"] == "iteration"]
        self.assertEqual([r["repetition_index"] for r in repetitions], [0, 1, 2])
        for row in repetitions:
            self.assertEqual(row["repetitions"], 3)
            if row["repetition_index"] == failed_index:
                self.assertTrue(row["error_occurred"])
                self.assertIn("receiver at message 50: the receiver process died "
                              "(exited with status 3)", row["error_message"])
            else:
                self.assertNotIn("error_occurred", row, row.get("error_message"))
                self.assertLessEqual(THROUGHPUT_COUNTERS | {"pipe_capacity"}, set(row))
        good = [r for r in repetitions if not r.get("error_occurred")]
        self.assertEqual(good[0]["messages"], good[1]["messages"])  # one calibrated count
        median = next(r for r in mine if r.get("aggregate_name") == "median")
        self.assertEqual(median["iterations"], 2)  # from the 2 successes
        self.assertAlmostEqual(median["bytes_per_second"],
                               sum(r["bytes_per_second"] for r in good) / 2)
        self.assertIn(f"{name}: 2 of 3 repetitions ok", stderr)

    def test_a_failed_repetition_is_a_row_and_the_others_count(self):
        document, stderr = self.run_with_fault("die@50:1")
        rows = document["benchmarks"]
        for size in (64, 4096):
            with self.subTest(size=size):
                self.check_benchmark(rows, f"throughput/py_pipe/bytes:{size}/manual_time", 1,
                                     stderr)
        # The runs went in the shuffled order, not one benchmark's repetitions in a row.
        said = [words[0] for words in map(str.split, stderr.splitlines())
                if words and NAME.match(words[0])]
        planned = ["throughput/py_pipe/bytes:64/manual_time",
                   "throughput/py_pipe/bytes:4096/manual_time"]
        order = sweep.schedule(2, 3, int(self.SEED))
        self.assertEqual(said, [planned[i] for i in order])
        self.assertFalse(back_to_back(said))
        self.assertEqual(document["context"]["schedule_seed"], int(self.SEED))

    def test_a_failed_calibration_is_a_row_and_the_next_repetition_calibrates(self):
        # Dies in the pilot of 100 messages: a pilot stops once it lasts a quarter of --min-time,
        # so the minimum is long enough that no loaded machine stops at 10 messages.
        document, stderr = self.run_with_fault("die@50:0", min_time="0.5")
        self.check_benchmark(document["benchmarks"], "throughput/py_pipe/bytes:64/manual_time", 0,
                             stderr)


class FailureTest(unittest.TestCase):
    """A peer that dies or freezes fails its benchmark with a clear error, within seconds; the
    sweep goes on and nothing (processes, shared-memory names) is left behind."""

    def shm_names(self):
        try:
            return set(os.listdir("/dev/shm"))
        except OSError:
            return set()

    def run_with_fault(self, fault, *args):
        before = self.shm_names()
        status, document, stderr, took = run_script("--sizes", "64,4096", "--min-time", "0.3",
                                                    "--inject-fault", fault, *args)
        self.assertEqual(status, 0, stderr)
        self.assertEqual(self.shm_names() - before, set())
        return document["benchmarks"], took

    def test_a_receiver_that_dies_fails_each_benchmark_at_once(self):
        for transport in TRANSPORTS:
            with self.subTest(transport=transport):
                rows, took = self.run_with_fault("die@50", "--transports", transport)
                self.assertEqual(len(rows), 4)  # both workloads, both sizes: the sweep went on
                for row in rows:
                    self.assertTrue(row["error_occurred"])
                    role = "receiver" if row["name"].startswith("throughput") else "echoer"
                    self.assertIn(f"{role} at message 50: the {role} process died "
                                  "(exited with status 3)", row["error_message"])
                    self.assertNotIn("verified", row)
                    self.assertEqual((row["iterations"], row["real_time"]), (0, 0.0))
                # A hang guard, not a speed test: the message above already says the death was
                # seen as one (end of file), not waited out as a stall. Four benchmarks take
                # 12-22 s on a loaded 2-CPU machine.
                self.assertLess(took, 90)

    def test_a_frozen_receiver_is_reported_as_a_stall(self):
        for transport in ("py_pipe", "py_queue", "py_shared_memory"):
            with self.subTest(transport=transport):
                rows, took = self.run_with_fault("stall@50", "--transports", transport,
                                                 "--workloads", "throughput", "--sizes", "64",
                                                 "--stall-timeout", "1")
                self.assertEqual(len(rows), 1)
                self.assertRegex(rows[0]["error_message"],
                                 r"^stalled: no progress for 1 s \(sender at message \d+, "
                                 r"receiver at message 50\)$")
                self.assertLess(took, 15)


class FromTunedPipeTest(unittest.TestCase):
    """py_from_tuned_pipe: a C++ pipes sender (pipebench_python_peer) to a Python receiver."""

    def test_a_missing_peer_is_an_error_row_not_a_failure(self):
        status, document, stderr, _ = run_script(
            "--sizes", "64", "--transports", "py_from_tuned_pipe",
            "--peer-binary", "/nonexistent/pipebench_python_peer")
        self.assertEqual(status, 0, stderr)
        rows = document["benchmarks"]
        self.assertEqual(len(rows), 2)
        for row in rows:
            self.assertTrue(row["error_occurred"])
            self.assertEqual(row["error_message"],
                             "skipped: C++ peer not built (run ./scripts/setup)")

    @unittest.skipUnless(PEER_BINARY, "pipebench_python_peer is not built")
    def test_the_cpp_sender_makes_the_exact_bytes_python_checks(self):
        # Sizes around the stamp, odd lengths (a pool file that ends mid-word and mid-page), the
        # zero-copy threshold and Python's 16 KiB write split: every byte is checked by Python.
        sizes = "1,3,7,8,9,63,64,4097,16385,65536,1048576"
        status, document, stderr, _ = run_script("--sizes", sizes, "--min-time", "0.01",
                                                 "--transports", "py_from_tuned_pipe",
                                                 "--peer-binary", PEER_BINARY)
        self.assertEqual(status, 0, stderr)
        rows = document["benchmarks"]
        self.assertEqual(len(rows), 2 * len(sizes.split(",")))
        for row in rows:
            with self.subTest(row=row["name"]):
                self.assertNotIn("error_occurred", row, row.get("error_message"))
                self.assertEqual(row["verified"], 1)
                self.assertGreater(row["cpu_s_per_GiB"], 0)
                self.assertEqual(row["pool_bytes"],
                                 pool_bytes(int(NAME.match(row["name"]).group(3))))
                self.assertIn("C++ sender", row["label"])
                if row["name"].startswith("latency"):
                    self.assertLessEqual(row["rtt_p50_ns"], row["rtt_max_ns"])
                    self.assertGreater(row["rtt_p50_ns"], 0)
                else:
                    self.assertGreater(row["bytes_per_second"], 0)

    @unittest.skipUnless(PEER_BINARY, "pipebench_python_peer is not built")
    def test_a_python_receiver_that_dies_fails_the_run_and_leaves_no_peer(self):
        status, document, stderr, _ = run_script(
            "--sizes", "64,4096", "--min-time", "0.3", "--inject-fault", "die@50",
            "--transports", "py_from_tuned_pipe", "--peer-binary", PEER_BINARY)
        self.assertEqual(status, 0, stderr)
        self.assertEqual(len(document["benchmarks"]), 4)
        for row in document["benchmarks"]:
            role = "receiver" if row["name"].startswith("throughput") else "echoer"
            # Seen as a death, at once: a run that waited for the stall timeout would say
            # "stalled" (no timed assertion: sanitizer builds of the peer are slow).
            self.assertIn(f"{role} at message 50: the {role} process died",
                          row["error_message"])
        if shutil.which("pgrep"):  # the peer died with the Python process that ran it
            leftovers = subprocess.run(["pgrep", "-f", PEER_BINARY], stdout=subprocess.PIPE,
                                       universal_newlines=True).stdout.split()
            self.assertEqual(leftovers, [])


@unittest.skipUnless(PEER_BINARY, "pipebench_python_peer is not built")
class PythonPeerTest(unittest.TestCase):
    """pipebench_python_peer on its own: it sends the bytes of the pool file it is given,
    stamps only its own copy of them, and refuses a file of another size."""

    def start(self, pool_fd, size, slots, count, data_fd, ack_fd):
        command = [PEER_BINARY, "--role", "sender", "--write-fd", str(data_fd), "--ack-fd",
                   str(ack_fd), "--size", str(size), "--slots", str(slots), "--count", str(count),
                   "--pool-fd", str(pool_fd)]
        return subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, pass_fds=[data_fd, ack_fd, pool_fd])

    def test_it_sends_the_files_bytes_and_stamps_only_its_own_copy(self):
        # The fallback's plain file, unsealed: only the peer's MAP_PRIVATE keeps its stamps out.
        refused = OSError(38, "Function not implemented")
        with mock.patch.object(payload.os, "memfd_create", side_effect=refused, create=True):
            pool = payload.PayloadPool(64, slots=4, seed=0xF11E)
            fd = pool.file_descriptor()
        before = os.pread(fd, 1 << 10, 0)
        data_in, data_out = multiprocessing.Pipe(duplex=False)
        ack_in, ack_out = multiprocessing.Pipe(duplex=False)
        peer = self.start(fd, 64, 4, 10, data_out.fileno(), ack_in.fileno())
        try:
            self.assertEqual(peer.stdout.readline(), b"ready\n")
            peer.stdin.write(b"go\n")
            peer.stdin.flush()
            for seq in range(10):
                pool.check(seq, data_in.recv_bytes())  # raises on any wrong byte
            ack_out.send_bytes((10).to_bytes(8, "little"))
            self.assertEqual(peer.stdout.readline().split()[:1], [b"done"])
            self.assertEqual(peer.wait(timeout=10), 0, peer.stderr.read())
        finally:
            if peer.poll() is None:
                peer.kill()
            peer.communicate()
            for end in (data_in, data_out, ack_in, ack_out):
                end.close()
        self.assertEqual(os.pread(fd, 1 << 10, 0), before)

    def test_it_refuses_a_pool_file_of_another_size(self):
        fd = payload.sealed_file(memoryview(bytes(100)))
        ack_fd, data_fd = os.pipe()
        try:
            peer = self.start(fd, 64, 2, 1, data_fd, ack_fd)
            said, complaint = peer.communicate(timeout=10)
        finally:
            for end in (fd, ack_fd, data_fd):
                os.close(end)
        self.assertEqual((peer.returncode, said), (1, b""))
        self.assertIn(b"holds 100 bytes, not --size x --slots = 128", complaint)


if __name__ == "__main__":
    unittest.main()
