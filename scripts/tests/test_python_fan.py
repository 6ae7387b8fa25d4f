"""Tests of the worker-pool workloads of scripts/python_baselines, fanout and fanin, with py_pool
(multiprocessing.Pool) and py_queue (one multiprocessing.Queue and W processes): verified rows
with their counters, a corrupted message caught, a killed or frozen worker failing its run with
an error row and leaving no process behind; and their parts, without processes."""
import re
import unittest

from python_harness_testing import (THROUGHPUT_COUNTERS, pool_bytes, processes_left, run_marked,
                                    run_script)

from python_harness import cli, fan_workloads, output
from python_harness.child import Fault, FaultInjector
from python_harness.payload import MessageMismatch, PayloadPool

FAN_NAME = re.compile(r"^(fanout|fanin)/(py_pool|py_queue)/bytes:(\d+)/workers:(\d+)/manual_time$")
FAN_COUNTERS = THROUGHPUT_COUNTERS | {"slowest_worker_share"}
BOTH = ("--workloads", "fanout,fanin", "--transports", "py_pool,py_queue")


class FanSweepTest(unittest.TestCase):
    """A real, tiny sweep of both worker-pool workloads, both transports, W = 1 and 2."""

    SIZES = (64, 2048)

    @classmethod
    def setUpClass(cls):
        cls.status, cls.document, cls.stderr, _ = run_script(
            *BOTH, "--sizes", ",".join(map(str, cls.SIZES)), "--workers", "1,2",
            "--min-time", "0.01")

    def test_every_benchmark_has_one_verified_row_with_its_counters(self):
        self.assertEqual(self.status, 0, self.stderr)
        rows = self.document["benchmarks"]
        expected = {f"{w}/{t}/bytes:{n}/workers:{k}/manual_time" for w in ("fanout", "fanin")
                    for t in ("py_pool", "py_queue") for n in self.SIZES for k in (1, 2)}
        self.assertEqual({r["name"] for r in rows}, expected)
        self.assertEqual(len(rows), len(expected))
        for row in rows:
            with self.subTest(row=row["name"]):
                self.assertNotIn("error_occurred", row, row.get("error_message"))
                workload, transport, size, workers = FAN_NAME.match(row["name"]).groups()
                self.assertLessEqual(FAN_COUNTERS, set(row))
                self.assertEqual(row["verified"], 1)
                self.assertEqual(row["messages"], row["iterations"])
                self.assertEqual(row["pool_bytes"], pool_bytes(int(size)))
                self.assertGreater(row["cpu_s_per_GiB"], 0)
                self.assertAlmostEqual(row["bytes_per_second"] / row["items_per_second"],
                                       int(size))
                self.assertAlmostEqual(row["items_per_second"] * row["real_time"] / 1e6, 1.0)
                share = row["slowest_worker_share"]
                if workers == "1":
                    self.assertAlmostEqual(share, 1.0)
                else:
                    self.assertGreaterEqual(share, 0.0)
                    self.assertLessEqual(share, 1.0 + 1e-9)
                if transport == "py_pool":
                    self.assertIn(f"multiprocessing.Pool({workers}).imap_unordered", row["label"])
                    self.assertRegex(row["label"], r"chunksize=\d+")
                else:
                    self.assertIn("multiprocessing.Queue", row["label"])

    def test_the_rows_are_grouped_in_plan_order(self):
        names = [r["name"] for r in self.document["benchmarks"]]
        self.assertEqual(names[0], "fanout/py_pool/bytes:64/workers:1/manual_time")
        self.assertEqual(names[-1], "fanin/py_queue/bytes:2048/workers:2/manual_time")


class FanFailureTest(unittest.TestCase):
    """A wrong byte, a killed worker, a frozen one: an error row each, the sweep going on, no
    process left behind."""

    def run_with_fault(self, fault, *args):
        status, document, stderr, seed = run_marked(
            *BOTH, "--sizes", "64", "--workers", "2", "--min-time", "0.2",
            "--inject-fault", fault, *args)
        self.assertEqual(status, 0, stderr)
        self.assertEqual(processes_left(seed), [])
        rows = document["benchmarks"]
        self.assertEqual(len(rows), 4, stderr)  # both workloads, both transports: it went on
        for row in rows:
            self.assertTrue(row.get("error_occurred"), row["name"])
            self.assertNotIn("verified", row)
        return {FAN_NAME.match(r["name"]).group(1, 2): r["error_message"] for r in rows}

    def test_a_corrupted_message_is_caught_by_whoever_checks_it(self):
        errors = self.run_with_fault("corrupt@2")
        for (workload, transport), message in errors.items():
            with self.subTest(workload=workload, transport=transport):
                self.assertRegex(message, r"message \d+: byte 63 differs from what was sent "
                                          r"\(corrupted payload\)")
                checker = {"fanout": "producer" if transport == "py_pool" else "consumer 1",
                           "fanin": "consumer"}[workload]  # a Pool re-raises in the producer
                self.assertTrue(message.startswith(f"{checker}: "), message)

    def test_a_killed_worker_fails_the_run_at_once(self):
        errors = self.run_with_fault("kill@2")
        for (workload, transport), message in errors.items():
            with self.subTest(workload=workload, transport=transport):
                if transport == "py_pool":
                    # Seen by the hub's watch, not waited out as a stall (imap would hang).
                    self.assertIn("pool worker 1 at message 2: the pool worker process died "
                                  "(killed by signal 9", message)
                else:
                    role = "consumer 1" if workload == "fanout" else "producer 1"
                    self.assertIn(f"{role} at message 2: the {role} process died "
                                  "(killed by signal 9", message)

    def test_a_frozen_pool_worker_is_reported_as_a_stall(self):
        status, document, stderr, seed = run_marked(
            "--workloads", "fanout", "--transports", "py_pool", "--sizes", "64", "--workers",
            "2", "--min-time", "0.2", "--stall-timeout", "1", "--inject-fault", "stall@2")
        self.assertEqual(status, 0, stderr)
        [row] = document["benchmarks"]
        self.assertRegex(row["error_message"],
                         r"^stalled: no progress for 1 s \(producer at message \d+, "
                         r"pool worker 1 at message 2, pool worker 2 at message \d+\)$")
        self.assertEqual(processes_left(seed), [])


class FanPartsTest(unittest.TestCase):
    """The pieces, without processes."""

    def test_fan_workloads_run_only_when_named(self):
        def planned(*argv):
            return [b.name for b in cli.plan(cli.parse_arguments(["--out", "x", *argv]))]
        default = planned("--sizes", "64")
        self.assertTrue(default)
        self.assertFalse([n for n in default if "workers:" in n or "py_pool" in n])
        fan = planned("--sizes", "64", "--workloads", "fanout", "--transports",
                      "py_pool,py_queue,py_pipe")
        self.assertEqual(fan, [f"fanout/{t}/bytes:64/workers:{w}/manual_time"
                               for t in ("py_pool", "py_queue") for w in (1, 2, 4)])
        self.assertEqual(planned("--sizes", "64", "--workloads", "fanin", "--workers", "3",
                                 "--transports", "py_pool"),
                         ["fanin/py_pool/bytes:64/workers:3/manual_time"])

    def test_names_carry_the_worker_count_as_pipebench_does(self):
        self.assertEqual(output.benchmark_name("fanout", "py_pool", 64, 4),
                         "fanout/py_pool/bytes:64/workers:4/manual_time")
        self.assertEqual(output.benchmark_name("throughput", "py_pipe", 64),
                         "throughput/py_pipe/bytes:64/manual_time")

    def test_slowest_worker_share(self):
        share = fan_workloads.slowest_worker_share
        self.assertAlmostEqual(share([50, 50], [11.0, 11.0], 10.0), 1.0)
        # 100 msg/s and 50 msg/s: the slowest over the mean, 50 / 75.
        self.assertAlmostEqual(share([100, 25], [11.0, 10.5], 10.0), 50 / 75)
        self.assertEqual(share([100, 0], [11.0, 0.0], 10.0), 0.0)

    def test_every_message_must_be_checked_exactly_once(self):
        once = fan_workloads.exactly_once_error
        self.assertIsNone(once([bytes([1, 0, 1]), bytes([0, 1, 0])], 3))
        self.assertIn("message 1: checked 0 times", once([bytes([1, 0, 1])], 3))
        self.assertIn("message 0: checked 2 times", once([bytes([1, 1]), bytes([1, 0])], 2))
        seen = bytearray(3)
        fan_workloads.note_once(seen, 2)
        with self.assertRaisesRegex(MessageMismatch, "message 2: received twice"):
            fan_workloads.note_once(seen, 2)
        with self.assertRaisesRegex(MessageMismatch, "message 3: beyond the 3 sent"):
            fan_workloads.note_once(seen, 3)

    def test_chunksize_is_pool_maps_rule_capped_at_64_kib_of_messages(self):
        chunksize = fan_workloads.chunksize_for
        self.assertEqual(chunksize(64, 1_000_000, 2), 1024)
        self.assertEqual(chunksize(64, 80, 2), 10)  # count / 4W
        self.assertEqual(chunksize(1 << 20, 1000, 4), 1)
        self.assertEqual(chunksize(64, 1, 4), 1)

    def test_a_worker_reads_the_sequence_number_from_the_stamp(self):
        pool = PayloadPool(64, slots=4, seed=7)
        message = bytes(pool.message(1_000_003))
        self.assertEqual(pool.sequence_of(message), 1_000_003)
        pool.check(pool.sequence_of(message), message)

    def test_corrupt_flips_the_last_byte_of_one_message(self):
        inject = FaultInjector(Fault.parse("corrupt@1"))
        self.assertEqual(inject(b"\x01\x02"), b"\x01\x02")
        self.assertEqual(inject(b"\x01\x02"), b"\x01\xfd")
        self.assertEqual(inject(b"\x01\x02"), b"\x01\x02")
        self.assertEqual(Fault.parse("kill@3:1"), Fault("kill", 3, 1))


if __name__ == "__main__":
    unittest.main()
