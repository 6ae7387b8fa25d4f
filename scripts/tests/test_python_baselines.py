"""Tests of scripts/python_baselines: the message check, the pool sizing, the statistics, the
shuffled schedule, the JSON it writes, and that a dead or frozen peer becomes an error row within
seconds instead of a hang, and one failed repetition an error row among the others."""
import importlib.machinery
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
from unittest import mock

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "python_baselines")


def load_script():
    """The script as a module (it has no .py suffix, so it needs an explicit loader)."""
    loader = importlib.machinery.SourceFileLoader("python_baselines", SCRIPT)
    spec = importlib.util.spec_from_loader(loader.name, loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[loader.name] = module  # dataclasses look their module up while being defined
    loader.exec_module(module)
    return module


pb = load_script()

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
    return pb.PayloadPool.slots_for(size, pb.last_level_cache_bytes()) * size


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


class MessageCheckTest(unittest.TestCase):
    """The receiver's check must catch any lost, reordered, resized or corrupted message."""

    SIZES = (1, 7, 8, 9, 64, 4096, 65536)

    def received(self, pool, seq):
        """Message `seq` as the receiver gets it: a copy of what the sender sent."""
        return bytes(pool.message(seq))

    def assert_rejected(self, pool, seq, received, reason):
        self.assertFalse(pool.matches(seq, received))
        with self.assertRaises(pb.MessageMismatch) as caught:
            pool.check(seq, received)
        self.assertIn(reason, str(caught.exception))

    def test_intact_messages_pass_as_bytes_and_as_buffers(self):
        for size in self.SIZES:
            pool = pb.PayloadPool(size)
            for seq in (0, 1, pool.slots, 3 * pool.slots + 1):
                message = self.received(pool, seq)
                pool.check(seq, message)
                pool.check(seq, memoryview(bytearray(message)))  # as in shared memory

    def test_a_changed_byte_anywhere_is_caught(self):
        for size in self.SIZES:
            pool = pb.PayloadPool(size)
            for index in sorted({0, min(8, size - 1), size // 2, size - 1}):
                corrupted = bytearray(self.received(pool, 5))
                corrupted[index] ^= 0x01
                reason = "stamp" if index < 8 else "corrupted"
                self.assert_rejected(pool, 5, bytes(corrupted), reason)

    def test_reordered_lost_and_duplicated_messages_are_caught(self):
        pool = pb.PayloadPool(64)
        self.assert_rejected(pool, 4, self.received(pool, 5), "stamp of message 5")  # lost
        self.assert_rejected(pool, 5, self.received(pool, 4), "stamp of message 4")  # repeated

    def test_the_right_stamp_on_another_slots_payload_is_caught(self):
        pool = pb.PayloadPool(4096)
        forged = bytearray(self.received(pool, 1))
        forged[:8] = (0).to_bytes(8, "little")
        self.assert_rejected(pool, 0, bytes(forged), "corrupted")

    def test_swapped_words_are_caught(self):
        pool = pb.PayloadPool(64)
        swapped = bytearray(self.received(pool, 2))
        swapped[8:16], swapped[16:24] = swapped[16:24], swapped[8:16]
        self.assert_rejected(pool, 2, bytes(swapped), "corrupted")

    def test_wrong_sizes_are_caught(self):
        pool = pb.PayloadPool(64)
        message = self.received(pool, 3)
        self.assert_rejected(pool, 3, message[:-1], "expected 64 bytes, received 63")
        self.assert_rejected(pool, 3, message + b"x", "expected 64 bytes, received 65")
        self.assert_rejected(pool, 3, b"", "expected 64 bytes, received 0")

    def test_messages_are_pseudo_random_and_differ_between_slots(self):
        pool = pb.PayloadPool(4096)
        first, second = self.received(pool, 0), self.received(pool, 1)
        self.assertNotEqual(first[8:], second[8:])
        self.assertGreater(len(set(first)), 200)  # not a constant or a short pattern

    def test_the_pool_is_the_start_of_the_seeds_random_stream(self):
        # What pipebench_python_peer rebuilds: randbytes over whole 32-bit words, cut to
        # slots * size bytes (an odd size makes an odd pool: its last word is cut, not shifted).
        pool = pb.PayloadPool(4097, slots=3, seed=12345)
        stream = pb.random.Random(12345).randbytes(4097 * 3 + 1)
        for seq in range(3):
            self.assertEqual(self.received(pool, seq)[8:],
                             stream[seq * 4097 + 8:(seq + 1) * 4097])


class PoolSizeTest(unittest.TestCase):
    """Messages of 4 KiB and more rotate over at least 4 last-level caches (at most 1 GiB)."""

    def test_the_rule(self):
        bytes_for = pb.PayloadPool.bytes_for
        mib = 1 << 20
        self.assertEqual(bytes_for(64, 32 * mib), 64 << 10)  # small: 1024 messages...
        self.assertEqual(bytes_for(4095, 32 * mib), 4095 * 1024)
        self.assertEqual(bytes_for(1, 0), 1024)
        self.assertEqual(bytes_for(4096, 32 * mib), 128 * mib)  # large: 4 caches
        self.assertEqual(bytes_for(1 * mib, 1 * mib), 8 * mib)  # ... and at least 8 MiB
        self.assertEqual(bytes_for(4096, 0), 8 * mib)  # cache unknown
        self.assertEqual(bytes_for(4096, 480 * mib), 1024 * mib)  # capped at 1 GiB
        self.assertEqual(pb.PayloadPool.slots_for(64 * mib, 32 * mib), 2)
        self.assertEqual(pb.PayloadPool.slots_for(256 * mib, 32 * mib), 2)  # at least 2 slots
        self.assertEqual(pb.PayloadPool.slots_for(4096, 32 * mib), 32768)
        self.assertIn("4x the last-level cache", pb.PayloadPool.rule())

    def test_the_last_level_cache_is_the_largest_cache_in_sysfs(self):
        sizes = {"index0": "32K", "index2": "1024K", "index3": "32768K"}

        def first_line(path):
            return sizes.get(path.split("/")[-2], "unknown")

        with mock.patch.object(pb, "first_line", side_effect=first_line):
            self.assertEqual(pb.last_level_cache_bytes.__wrapped__(), 32 << 20)
        with mock.patch.object(pb, "first_line", return_value="unknown"):
            self.assertEqual(pb.last_level_cache_bytes.__wrapped__(), 0)

    def test_a_pool_follows_the_rule_with_this_hosts_cache(self):
        llc = pb.last_level_cache_bytes()
        pool = pb.PayloadPool(1 << 20)
        self.assertEqual(pool.pool_bytes, pb.PayloadPool.bytes_for(1 << 20, llc))
        self.assertGreaterEqual(pool.pool_bytes, min(4 * llc, 1 << 30))


class StatisticsTest(unittest.TestCase):
    def test_nearest_rank_percentiles(self):
        samples = list(range(1, 1001))
        summary = pb.summarise(samples[::-1])
        self.assertEqual(summary["rtt_p50_ns"], 500)
        self.assertEqual(summary["rtt_p90_ns"], 900)
        self.assertEqual(summary["rtt_p99_ns"], 990)
        self.assertEqual(summary["rtt_p999_ns"], 999)
        self.assertEqual(summary["rtt_max_ns"], 1000)
        self.assertEqual(pb.summarise([7])["rtt_p999_ns"], 7)

    def test_iterations_grow_like_google_benchmark(self):
        self.assertEqual(pb.next_iterations(1, 1e-6, 0.5), 10)  # insignificant: tenfold
        self.assertEqual(pb.next_iterations(1000, 0.05, 0.5), 5000)  # aim at half min time
        self.assertEqual(pb.next_iterations(1000, 0.124, 0.5), 2017)  # always more

    def test_aggregates_are_named_as_google_benchmark_names_them(self):
        header = pb.row_header("throughput/py_pipe/bytes:64/manual_time", 3, 2)
        result = pb.RunResult(seconds=1.0, cpu_seconds=1.0, messages=10, bytes_checked=640)
        rows = [pb.iteration_row(header, i, "throughput", 64, 10 * (i + 1), result)
                for i in range(2)]
        aggregates = pb.aggregate_rows(rows)
        self.assertEqual([a["aggregate_name"] for a in aggregates],
                         ["mean", "median", "stddev", "cv"])
        for a in aggregates:
            self.assertEqual(a["name"], f"{header['name']}_{a['aggregate_name']}")
            self.assertEqual(a["run_name"], header["name"])
            self.assertEqual(a["run_type"], "aggregate")
            self.assertNotIn("repetition_index", a)
        self.assertEqual(aggregates[0]["items_per_second"], 15.0)
        self.assertEqual(aggregates[3]["aggregate_unit"], "percentage")
        self.assertEqual(pb.aggregate_rows(rows[:1]), [])

    def test_aggregates_leave_failed_repetitions_out(self):
        header = pb.row_header("throughput/py_pipe/bytes:64/manual_time", 0, 3)
        result = pb.RunResult(seconds=1.0, cpu_seconds=1.0, messages=10, bytes_checked=640)
        rows = [pb.iteration_row(header, 0, "throughput", 64, 10, result),
                pb.error_row(header, 1, "receiver: message 3: checksum mismatch (corrupted)"),
                pb.iteration_row(header, 2, "throughput", 64, 30, result)]
        median = pb.aggregate_rows(rows)[1]
        self.assertEqual((median["aggregate_name"], median["iterations"]), ("median", 2))
        self.assertEqual(median["items_per_second"], 20.0)
        self.assertEqual(pb.aggregate_rows(rows[:2]), [])  # one success: no aggregates

    def test_calibration_scales_the_first_pilot_that_takes_a_quarter_of_min_time(self):
        pilots = []

        def run(count):  # 1 ms per message
            pilots.append(count)
            return pb.RunResult(seconds=count * 1e-3)

        count, pilot = pb.calibrate(run, 0.5)
        self.assertEqual(pilots, [1, 10, 100, 250])  # 100 ms < 125 ms; 250 ms >= 125 ms
        self.assertEqual((count, pilot.error), (500, None))

    def test_a_failed_pilot_fails_the_calibration(self):
        results = iter([pb.RunResult(seconds=1e-6), pb.RunResult(error="stalled: ...")])
        count, pilot = pb.calibrate(lambda count: next(results), 0.5)
        self.assertEqual(pilot.error, "stalled: ...")


class ScheduleTest(unittest.TestCase):
    def test_every_repetition_runs_once_in_a_shuffled_reproducible_order(self):
        order = pb.schedule(4, 3, seed=1)
        self.assertEqual(sorted(order), [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3])
        self.assertEqual(order, pb.schedule(4, 3, seed=1))
        self.assertNotEqual(order, pb.schedule(4, 3, seed=2))
        self.assertNotEqual(order, sorted(order))
        self.assertFalse(back_to_back(pb.schedule(2, 3, seed=1)))


def back_to_back(order):
    """Whether each benchmark's repetitions all ran in a row."""
    runs = [key for index, key in enumerate(order) if index == 0 or order[index - 1] != key]
    return len(runs) == len(set(runs))


class PlanTest(unittest.TestCase):
    def test_a_benchmark_filter_selects_by_name_as_pipebench_does(self):
        args = pb.parse_arguments(["--out", "x.json", "--sizes", "64,1M",
                                   "--benchmark_filter", "^throughput/py_pipe(_bigbuf)?/.*:1048576"])
        self.assertEqual([b.name for b in pb.plan(args)],
                         ["throughput/py_pipe/bytes:1048576/manual_time",
                          "throughput/py_pipe_bigbuf/bytes:1048576/manual_time"])


class OutputTest(unittest.TestCase):
    def test_a_failed_write_leaves_neither_a_file_nor_a_temporary(self):
        with tempfile.TemporaryDirectory() as directory:
            path = os.path.join(directory, "out.json")
            with mock.patch.object(pb.json, "dump", side_effect=OSError(28, "No space left")):
                with self.assertRaises(OSError):
                    pb.write_atomically(path, {"benchmarks": []})
            self.assertEqual(os.listdir(directory), [])

    def test_an_unwritable_destination_fails_at_once(self):
        status, document, stderr, took = run_script_to("/nonexistent-dir/python.json")
        self.assertEqual(status, 1)
        self.assertIn("cannot write", stderr)
        self.assertLess(took, 10)


def run_script_to(out):
    started = time.monotonic()
    done = subprocess.run([sys.executable, SCRIPT, "--out", out, "--sizes", "64"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=60)
    return done.returncode, None, done.stderr, time.monotonic() - started


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
        self.assertEqual([r["name"] for r in rows if r["name"] in expected], [r["name"] for r in rows])
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
                    self.assertIn(pb.size_text(int(row["pipe_capacity"])), row["label"])
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


class BigBufferTest(unittest.TestCase):
    def test_a_refused_pipe_size_is_in_the_label(self):
        ctx = pb.multiprocessing.get_context("fork")
        refusal = PermissionError(1, "Operation not permitted")
        with mock.patch.object(pb.fcntl, "fcntl", side_effect=refusal):
            transport = pb.BigBufferPipeTransport(ctx, 64)
        try:
            label = transport.label(DEFAULT_PIPE)
        finally:
            transport.close()
        self.assertIn("pipe 64 KiB (asked ", label)
        self.assertIn("refused: PermissionError: [Errno 1] Operation not permitted", label)


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
                self.check_benchmark(rows, f"throughput/py_pipe/bytes:{size}/manual_time", 1, stderr)
        # The runs went in the shuffled order, not one benchmark's repetitions in a row.
        said = [words[0] for words in map(str.split, stderr.splitlines())
                if words and NAME.match(words[0])]
        planned = ["throughput/py_pipe/bytes:64/manual_time", "throughput/py_pipe/bytes:4096/manual_time"]
        order = pb.schedule(2, 3, int(self.SEED))
        self.assertEqual(said, [planned[i] for i in order])
        self.assertFalse(back_to_back(said))
        self.assertEqual(document["context"]["schedule_seed"], int(self.SEED))

    def test_a_failed_calibration_is_a_row_and_the_next_repetition_calibrates(self):
        # Dies in the pilot of 100 messages: a pilot stops once it lasts a tenth of --min-time,
        # so the minimum is long enough that no loaded machine stops at 10 messages.
        document, stderr = self.run_with_fault("die@50:0", min_time="0.5")
        self.check_benchmark(document["benchmarks"], "throughput/py_pipe/bytes:64/manual_time", 0, stderr)


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
                self.assertLess(took, 20)

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


def find_peer_binary():
    """pipebench_python_peer of the build being tested: $PIPEBENCH_PYTHON_PEER, else the build
    tree ctest runs this from (<build>/scripts/tests), else the repository's build/."""
    candidates = [os.environ.get("PIPEBENCH_PYTHON_PEER", ""),
                  os.path.join(os.getcwd(), os.pardir, os.pardir, "harness",
                               "pipebench_python_peer"),
                  pb.DEFAULT_PEER_BINARY]
    for path in candidates:
        if path and os.access(path, os.X_OK):
            return os.path.abspath(path)
    return None


PEER_BINARY = find_peer_binary()


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

    def test_the_peer_gets_the_pools_slot_count(self):
        # The pool's size follows this host's cache; the peer must rebuild the very same pool.
        pool = pb.PayloadPool(4096)
        channel = mock.Mock(write_fd=5, read_fd=6)
        context = mock.Mock(peer_binary="/bin/false")
        context.ack_fd.return_value = 7
        with mock.patch.object(pb.subprocess, "Popen", side_effect=OSError("stop")) as popen:
            with self.assertRaises(OSError):
                pb.cpp_peer("sender", channel, context, pool, 10)
        command = popen.call_args[0][0]
        self.assertEqual(command[command.index("--slots") + 1], str(pool.slots))

    @unittest.skipUnless(PEER_BINARY, "pipebench_python_peer is not built")
    def test_the_cpp_sender_makes_the_exact_bytes_python_checks(self):
        # Sizes around the stamp, odd lengths (randbytes' last partial word), the zero-copy
        # threshold and Python's 16 KiB write split: every byte is checked on the Python side.
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


if __name__ == "__main__":
    unittest.main()
