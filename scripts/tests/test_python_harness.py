"""Tests of the Python harness's parts (scripts/python_harness): the message check, the pool
sizing and the pool's file, the statistics and the calibration, the shuffled schedule, the
plan, the output file, the big-buffer pipe's label, and the C++ peer's command line."""
import fcntl
import multiprocessing
import os
import random
import tempfile
import unittest
from unittest import mock

from python_harness_testing import DEFAULT_PIPE, back_to_back, run_script_to

from python_harness import (byte_sizes, calibration, cli, cpp_peer, host, output, payload,
                            stats, supervision, sweep, transports)


class MessageCheckTest(unittest.TestCase):
    """The receiver's check must catch any lost, reordered, resized or corrupted message."""

    SIZES = (1, 7, 8, 9, 64, 4096, 65536)

    def received(self, pool, seq):
        """Message `seq` as the receiver gets it: a copy of what the sender sent."""
        return bytes(pool.message(seq))

    def assert_rejected(self, pool, seq, received, reason):
        self.assertFalse(pool.matches(seq, received))
        with self.assertRaises(payload.MessageMismatch) as caught:
            pool.check(seq, received)
        self.assertIn(reason, str(caught.exception))

    def test_intact_messages_pass_as_bytes_and_as_buffers(self):
        for size in self.SIZES:
            pool = payload.PayloadPool(size)
            for seq in (0, 1, pool.slots, 3 * pool.slots + 1):
                message = self.received(pool, seq)
                pool.check(seq, message)
                pool.check(seq, memoryview(bytearray(message)))  # as in shared memory

    def test_a_changed_byte_anywhere_is_caught(self):
        for size in self.SIZES:
            pool = payload.PayloadPool(size)
            for index in sorted({0, min(8, size - 1), size // 2, size - 1}):
                corrupted = bytearray(self.received(pool, 5))
                corrupted[index] ^= 0x01
                reason = "stamp" if index < 8 else "corrupted"
                self.assert_rejected(pool, 5, bytes(corrupted), reason)

    def test_reordered_lost_and_duplicated_messages_are_caught(self):
        pool = payload.PayloadPool(64)
        self.assert_rejected(pool, 4, self.received(pool, 5), "stamp of message 5")  # lost
        self.assert_rejected(pool, 5, self.received(pool, 4), "stamp of message 4")  # repeated

    def test_the_right_stamp_on_another_slots_payload_is_caught(self):
        pool = payload.PayloadPool(4096)
        forged = bytearray(self.received(pool, 1))
        forged[:8] = (0).to_bytes(8, "little")
        self.assert_rejected(pool, 0, bytes(forged), "corrupted")

    def test_swapped_words_are_caught(self):
        pool = payload.PayloadPool(64)
        swapped = bytearray(self.received(pool, 2))
        swapped[8:16], swapped[16:24] = swapped[16:24], swapped[8:16]
        self.assert_rejected(pool, 2, bytes(swapped), "corrupted")

    def test_wrong_sizes_are_caught(self):
        pool = payload.PayloadPool(64)
        message = self.received(pool, 3)
        self.assert_rejected(pool, 3, message[:-1], "expected 64 bytes, received 63")
        self.assert_rejected(pool, 3, message + b"x", "expected 64 bytes, received 65")
        self.assert_rejected(pool, 3, b"", "expected 64 bytes, received 0")

    def test_messages_are_pseudo_random_and_differ_between_slots(self):
        pool = payload.PayloadPool(4096)
        first, second = self.received(pool, 0), self.received(pool, 1)
        self.assertNotEqual(first[8:], second[8:])
        self.assertGreater(len(set(first)), 200)  # not a constant or a short pattern

    def test_the_pool_is_the_start_of_the_seeds_random_stream(self):
        # randbytes over whole 32-bit words, cut to slots * size bytes (an odd size makes an odd
        # pool: its last word is cut, not shifted), so that pools of any length share one stream.
        pool = payload.PayloadPool(4097, slots=3, seed=12345)
        stream = random.Random(12345).randbytes(4097 * 3 + 1)
        for seq in range(3):
            self.assertEqual(self.received(pool, seq)[8:],
                             stream[seq * 4097 + 8:(seq + 1) * 4097])


class PoolSizeTest(unittest.TestCase):
    """Messages of 4 KiB and more rotate over at least 4 last-level caches (at most 1 GiB)."""

    def test_the_rule(self):
        bytes_for = payload.PayloadPool.bytes_for
        mib = 1 << 20
        self.assertEqual(bytes_for(64, 32 * mib), 64 << 10)  # small: 1024 messages...
        self.assertEqual(bytes_for(4095, 32 * mib), 4095 * 1024)
        self.assertEqual(bytes_for(1, 0), 1024)
        self.assertEqual(bytes_for(4096, 32 * mib), 128 * mib)  # large: 4 caches
        self.assertEqual(bytes_for(1 * mib, 1 * mib), 8 * mib)  # ... and at least 8 MiB
        self.assertEqual(bytes_for(4096, 0), 8 * mib)  # cache unknown
        self.assertEqual(bytes_for(4096, 480 * mib), 1024 * mib)  # capped at 1 GiB
        self.assertEqual(payload.PayloadPool.slots_for(64 * mib, 32 * mib), 2)
        self.assertEqual(payload.PayloadPool.slots_for(256 * mib, 32 * mib), 2)  # >= 2 slots
        self.assertEqual(payload.PayloadPool.slots_for(4096, 32 * mib), 32768)
        self.assertIn("4x the last-level cache", payload.PayloadPool.rule())

    def test_the_last_level_cache_is_the_largest_cache_in_sysfs(self):
        sizes = {"index0": "32K", "index2": "1024K", "index3": "32768K"}

        def first_line(path):
            return sizes.get(path.split("/")[-2], "unknown")

        with mock.patch.object(host, "first_line", side_effect=first_line):
            self.assertEqual(host.last_level_cache_bytes.__wrapped__(), 32 << 20)
        with mock.patch.object(host, "first_line", return_value="unknown"):
            self.assertEqual(host.last_level_cache_bytes.__wrapped__(), 0)

    def test_a_pool_follows_the_rule_with_this_hosts_cache(self):
        llc = host.last_level_cache_bytes()
        pool = payload.PayloadPool(1 << 20)
        self.assertEqual(pool.pool_bytes, payload.PayloadPool.bytes_for(1 << 20, llc))
        self.assertGreaterEqual(pool.pool_bytes, min(4 * llc, 1 << 30))


class PoolFileTest(unittest.TestCase):
    """The file the C++ peer maps (--pool-fd) holds exactly the pool's bytes, unstamped."""

    SEED = 0x5EED  # a stream no other test stamps: the file must be made before any stamp

    def contents(self, fd):
        return os.pread(fd, os.fstat(fd).st_size + 1, 0)

    def test_the_file_holds_exactly_the_pools_bytes(self):
        seed = self.SEED + 1  # this test stamps its stream
        pool = payload.PayloadPool(4097, slots=3, seed=seed)
        fd = pool.file_descriptor()
        self.assertEqual(self.contents(fd), random.Random(seed).randbytes(4097 * 3 + 1)[:-1])
        sent = bytes(pool.message(1))  # a stamp in this process's copy...
        self.assertEqual(self.contents(fd)[4097:2 * 4097][8:], sent[8:])
        self.assertNotEqual(self.contents(fd)[4097:4097 + 8], sent[:8])  # ... not in the file

    def test_pools_of_one_length_share_one_file_made_once(self):
        small = payload.PayloadPool(1024, slots=16, seed=self.SEED)
        large = payload.PayloadPool(4096, slots=4, seed=self.SEED)
        with mock.patch.object(payload, "sealed_file", wraps=payload.sealed_file) as made:
            self.assertEqual(small.file_descriptor(), large.file_descriptor())
            self.assertEqual(small.file_descriptor(), small.file_descriptor())
        self.assertLessEqual(made.call_count, 1)
        other = payload.PayloadPool(4096, slots=5, seed=self.SEED)
        self.assertNotEqual(other.file_descriptor(), large.file_descriptor())

    @unittest.skipUnless(hasattr(os, "memfd_create"), "no memfd_create")
    def test_the_memfd_is_sealed_against_changes(self):
        fd = payload.sealed_file(memoryview(b"pool bytes"))
        try:
            with self.assertRaises(PermissionError):
                os.pwrite(fd, b"x", 0)
            with self.assertRaises(PermissionError):
                os.ftruncate(fd, 3)
            self.assertEqual(self.contents(fd), b"pool bytes")
        finally:
            os.close(fd)

    def test_without_memfd_an_unlinked_temporary_file_holds_the_bytes(self):
        refused = OSError(38, "Function not implemented")
        with mock.patch.object(payload.os, "memfd_create", side_effect=refused, create=True):
            fd = payload.sealed_file(memoryview(b"pool bytes"))
        try:
            self.assertEqual(self.contents(fd), b"pool bytes")
            self.assertEqual(os.fstat(fd).st_nlink, 0)  # no name left behind
        finally:
            os.close(fd)


class StatisticsTest(unittest.TestCase):
    def test_nearest_rank_percentiles(self):
        samples = list(range(1, 1001))
        summary = stats.summarise(samples[::-1])
        self.assertEqual(summary["rtt_p50_ns"], 500)
        self.assertEqual(summary["rtt_p90_ns"], 900)
        self.assertEqual(summary["rtt_p99_ns"], 990)
        self.assertEqual(summary["rtt_p999_ns"], 999)
        self.assertEqual(summary["rtt_max_ns"], 1000)
        self.assertEqual(stats.summarise([7])["rtt_p999_ns"], 7)

    def test_iterations_grow_like_google_benchmark(self):
        next_iterations = calibration.next_iterations
        self.assertEqual(next_iterations(1, 1e-6, 0.5), 10)  # insignificant: tenfold
        self.assertEqual(next_iterations(1000, 0.05, 0.5), 5000)  # aim at half min time
        self.assertEqual(next_iterations(1000, 0.124, 0.5), 2017)  # always more

    def test_aggregates_are_named_as_google_benchmark_names_them(self):
        header = output.row_header("throughput/py_pipe/bytes:64/manual_time", 3, 2)
        result = supervision.RunResult(seconds=1.0, cpu_seconds=1.0, messages=10,
                                       bytes_checked=640)
        rows = [output.iteration_row(header, i, "throughput", 64, 10 * (i + 1), result)
                for i in range(2)]
        aggregates = output.aggregate_rows(rows)
        self.assertEqual([a["aggregate_name"] for a in aggregates],
                         ["mean", "median", "stddev", "cv"])
        for a in aggregates:
            self.assertEqual(a["name"], f"{header['name']}_{a['aggregate_name']}")
            self.assertEqual(a["run_name"], header["name"])
            self.assertEqual(a["run_type"], "aggregate")
            self.assertNotIn("repetition_index", a)
        self.assertEqual(aggregates[0]["items_per_second"], 15.0)
        self.assertEqual(aggregates[3]["aggregate_unit"], "percentage")
        self.assertEqual(output.aggregate_rows(rows[:1]), [])

    def test_aggregates_leave_failed_repetitions_out(self):
        header = output.row_header("throughput/py_pipe/bytes:64/manual_time", 0, 3)
        result = supervision.RunResult(seconds=1.0, cpu_seconds=1.0, messages=10,
                                       bytes_checked=640)
        rows = [output.iteration_row(header, 0, "throughput", 64, 10, result),
                output.error_row(header, 1, "receiver: message 3: checksum mismatch (corrupted)"),
                output.iteration_row(header, 2, "throughput", 64, 30, result)]
        median = output.aggregate_rows(rows)[1]
        self.assertEqual((median["aggregate_name"], median["iterations"]), ("median", 2))
        self.assertEqual(median["items_per_second"], 20.0)
        self.assertEqual(output.aggregate_rows(rows[:2]), [])  # one success: no aggregates

    def test_calibration_scales_the_first_pilot_that_takes_a_quarter_of_min_time(self):
        pilots = []

        def run(count):  # 1 ms per message
            pilots.append(count)
            return supervision.RunResult(seconds=count * 1e-3)

        count, pilot = calibration.calibrate(run, 0.5)
        self.assertEqual(pilots, [1, 10, 100, 250])  # 100 ms < 125 ms; 250 ms >= 125 ms
        self.assertEqual((count, pilot.error), (500, None))

    def test_a_failed_pilot_fails_the_calibration(self):
        results = iter([supervision.RunResult(seconds=1e-6),
                        supervision.RunResult(error="stalled: ...")])
        count, pilot = calibration.calibrate(lambda count: next(results), 0.5)
        self.assertEqual(pilot.error, "stalled: ...")


class ScheduleTest(unittest.TestCase):
    def test_every_repetition_runs_once_in_a_shuffled_reproducible_order(self):
        order = sweep.schedule(4, 3, seed=1)
        self.assertEqual(sorted(order), [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3])
        self.assertEqual(order, sweep.schedule(4, 3, seed=1))
        self.assertNotEqual(order, sweep.schedule(4, 3, seed=2))
        self.assertNotEqual(order, sorted(order))
        self.assertFalse(back_to_back(sweep.schedule(2, 3, seed=1)))


class PlanTest(unittest.TestCase):
    def test_a_benchmark_filter_selects_by_name_as_pipebench_does(self):
        args = cli.parse_arguments(["--out", "x.json", "--sizes", "64,1M", "--benchmark_filter",
                                    "^throughput/py_pipe(_bigbuf)?/.*:1048576"])
        self.assertEqual([b.name for b in cli.plan(args)],
                         ["throughput/py_pipe/bytes:1048576/manual_time",
                          "throughput/py_pipe_bigbuf/bytes:1048576/manual_time"])


class OutputTest(unittest.TestCase):
    def test_a_failed_write_leaves_neither_a_file_nor_a_temporary(self):
        with tempfile.TemporaryDirectory() as directory:
            path = os.path.join(directory, "out.json")
            with mock.patch.object(output.json, "dump", side_effect=OSError(28, "No space left")):
                with self.assertRaises(OSError):
                    output.write_atomically(path, {"benchmarks": []})
            self.assertEqual(os.listdir(directory), [])

    def test_an_unwritable_destination_fails_at_once(self):
        status, document, stderr, took = run_script_to("/nonexistent-dir/python.json")
        self.assertEqual(status, 1)
        self.assertIn("cannot write", stderr)
        self.assertLess(took, 10)


class BigBufferTest(unittest.TestCase):
    def test_a_refused_pipe_size_is_in_the_label(self):
        ctx = multiprocessing.get_context("fork")
        refusal = PermissionError(1, "Operation not permitted")
        with mock.patch.object(fcntl, "fcntl", side_effect=refusal):
            transport = transports.BigBufferPipeTransport(ctx, payload.PayloadPool(64))
        try:
            label = transport.label(DEFAULT_PIPE)
        finally:
            transport.close()
        self.assertIn("pipe 64 KiB (asked ", label)
        self.assertIn("refused: PermissionError: [Errno 1] Operation not permitted", label)
        self.assertEqual(byte_sizes.size_text(DEFAULT_PIPE), "64 KiB")


class CppPeerCommandTest(unittest.TestCase):
    def test_the_peer_gets_the_pools_slot_count_and_file(self):
        # The pool's size follows this host's cache; the peer must map the very same pool.
        pool = payload.PayloadPool(4096)
        channel = mock.Mock(write_fd=5, read_fd=6, pool_fd=8)
        context = mock.Mock(peer_binary="/bin/false")
        context.ack_fd.return_value = 7
        with mock.patch.object(cpp_peer.subprocess, "Popen", side_effect=OSError("stop")) as popen:
            with self.assertRaises(OSError):
                cpp_peer.run_peer("sender", channel, context, pool, 10)
        command = popen.call_args[0][0]
        self.assertEqual(command[command.index("--slots") + 1], str(pool.slots))
        self.assertEqual(command[command.index("--size") + 1], "4096")
        self.assertEqual(command[command.index("--pool-fd") + 1], "8")
        self.assertIn(8, popen.call_args[1]["pass_fds"])
        self.assertNotIn("--seed", command)


if __name__ == "__main__":
    unittest.main()
