"""Tests of ./scripts/plot (charts + REPORT.md) and ./scripts/compare, on crafted runs.

fixtures/ holds a run with every transport id at 64 B, 64 KiB and 1 MiB, in round numbers
(GiB/s and µs that are easy to check by hand). Two benchmarks have three repetitions and
Google Benchmark's aggregates: throughput/tuned_pipe/1 MiB (7, 8 and 20 GiB/s: the median 8
must be used, not the mean 11.67) and latency/tuned_pipe/64 B (29, 30, 45 µs: median 30).
posix_mq is skipped above 8 KiB, as on a host with msgsize_max = 8192.

Every run is plotted in a temporary copy; the source tree is never written.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
FIXTURES = os.path.join(HERE, "fixtures")
PLOT = os.path.join(ROOT, "scripts", "plot")
COMPARE = os.path.join(ROOT, "scripts", "compare")
sys.path.insert(0, os.path.join(ROOT, "scripts", "report"))

import results  # noqa: E402

# The charts the brief asks for, each as SVG and PNG.
CHARTS = ["throughput_vs_size", "latency_vs_size", "cpu_per_gib", "pipe_levers",
          "tuned_vs_rivals", "cpp_vs_python"]


def plot(run_dir):
    """Runs ./scripts/plot; fails the test with its output if it fails."""
    done = subprocess.run([PLOT, run_dir], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=240)
    if done.returncode != 0:
        raise AssertionError(f"scripts/plot {run_dir} failed ({done.returncode}):\n{done.stdout}")
    with open(os.path.join(run_dir, "REPORT.md"), encoding="utf-8") as f:
        return f.read()


def make_run(parent, name, edit=None, files=("pipebench.json", "python.json")):
    """Copies the fixture's files into parent/name, letting `edit(file, data)` change them."""
    run_dir = os.path.join(parent, name)
    os.makedirs(run_dir)
    for f in files:
        with open(os.path.join(FIXTURES, f), encoding="utf-8") as src:
            data = json.load(src)
        if edit is not None:
            edit(f, data)
        with open(os.path.join(run_dir, f), "w", encoding="utf-8") as dst:
            json.dump(data, dst)
    return run_dir


class PlottedRun(unittest.TestCase):
    """Base of the classes below: the fixture's `files`, changed by `edit`, are copied into a
    temporary run directory that is plotted once for the class and removed after it."""

    files = ("pipebench.json", "python.json")

    @classmethod
    def edit(cls, name, data):
        """Changes file `name`'s parsed JSON in place; the full fixture as it is by default."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="pipebench-report-")
        cls.run_dir = make_run(cls.tmp, "run", cls.edit, cls.files)
        cls.report = plot(cls.run_dir)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp)


class FullRun(PlottedRun):
    """The complete fixture: every file is written and the report's figures are the fixture's."""

    longMessage = False  # on failure, name the missing text rather than print the whole report

    def assertInReport(self, text):
        self.assertIn(text, self.report, f"not in REPORT.md: {text!r}")

    def test_every_chart_is_written_as_svg_and_png(self):
        for name in CHARTS:
            with open(os.path.join(self.run_dir, name + ".png"), "rb") as f:
                self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n", name)
            with open(os.path.join(self.run_dir, name + ".svg"), encoding="utf-8") as f:
                self.assertIn("<svg", f.read(2000), name)

    def test_report_embeds_every_chart_with_relative_links(self):
        for name in CHARTS:
            self.assertInReport(f"]({name}.png)](")
            self.assertInReport(f"({name}.svg)")

    def test_median_aggregate_is_used(self):
        # Appendix row: 0.25, 4.00 and the *median* 8.00 GiB/s (the mean would be 11.7).
        self.assertInReport("| `tuned_pipe` | pipe | 0.25 | 4.00 | 8.00 |")
        self.assertInReport("| `tuned_pipe` | pipe | 30.0 µs | 50.0 µs | 400 µs |")
        self.assertNotIn("11.7", self.report)

    def test_verdict(self):
        self.assertInReport("Yes: for large messages a tuned pipe comes close to shared memory.")
        self.assertInReport("At 1 MiB messages `tuned_pipe` moves 8.00 GiB/s: 8.00× the naive "
                            "pipe's 1.00 GiB/s, 80% of the shared-memory ring, 50% of one "
                            "in-process `memcpy`.")
        self.assertInReport("The best pipe figure in this run is `tuned_pipe_loan` at 1 MiB: "
                            "12.0 GiB/s")

    def test_memcpy_is_explained_as_a_yardstick(self):
        self.assertInReport("so a transport with one copy can pass it, up to about twice: it is "
                            "a yardstick, not a hard limit.\n")

    def test_winner_in_each_band(self):
        self.assertInReport("| small (≤ 1 KiB) | 64 B | `shm_ring` 1.50 GiB/s | "
                            "`tuned_pipe_batch` 1.00 GiB/s | 1.50× |")
        self.assertInReport("| medium (4–64 KiB) | 64 KiB | `shm_ring` 8.00 GiB/s | "
                            "`tuned_pipe_loan` 5.00 GiB/s | 1.60× |")
        self.assertInReport("| large (≥ 256 KiB) | 1 MiB | `tuned_pipe_loan` 12.0 GiB/s | "
                            "`shm_ring` 10.0 GiB/s | 1.20× |")
        self.assertInReport("| small (≤ 1 KiB) | 64 B | `tuned_pipe_spin` 5.00 µs | "
                            "`shm_ring` 10.0 µs | 2.00× |")

    def test_lever_gains(self):
        # Each cell: multiple of naive_pipe, then (multiple of the step it is compared with).
        self.assertInReport("| `pipe_bigbuf` | `pipe_levers_off` | 1.25× (1.00×) | "
                            "1.25× (1.25×) | 2.00× (2.00×) |")
        self.assertInReport("| `pipe_vmsplice` | `pipe_levers_off` | 1.25× (1.00×) | "
                            "1.50× (1.50×) | 4.00× (4.00×) |")
        self.assertInReport("| `tuned_pipe_loan` | `tuned_pipe_built` | 2.50× (1.00×) | "
                            "2.50× (1.25×) | 12.0× (2.00×) |")
        self.assertInReport("The single lever that buys most at 1 MiB: `pipe_vmsplice` (4.00×).")
        self.assertInReport("takes the 64 B round trip from 30.0 µs to 5.00 µs (6.00× faster)")

    def test_pipes_as_a_fraction_of_shm_ring_and_memcpy(self):
        self.assertInReport("| 1 MiB | 8.00 GiB/s | 80% | 50% | 12.0 GiB/s | 120% | 75% |")

    def test_cpu_per_gib(self):
        # 0.25 s/GiB at 8 GiB/s keeps 2 CPUs busy.
        self.assertInReport("| `tuned_pipe` | 8.00 (2.00 CPUs) | 0.50 (2.00 CPUs) | "
                            "0.25 (2.00 CPUs) |")
        self.assertInReport("At 1 MiB, a GiB through `tuned_pipe` costs 0.25 CPU-seconds")

    def test_serialization_claim(self):
        self.assertInReport("`py_pipe` (`send_bytes`/`recv_bytes`: the same kind of pipe and "
                            "framing, no pickling) moves 0.30 GiB/s, 30% of `naive_pipe`")
        self.assertInReport("0.60 GiB/s, 2.00× `py_pipe`; so pickling is not what holds Python "
                            "back here")
        self.assertInReport("Python adds 10.0 µs per round trip (1.25×)")

    def test_machine_dependent_text(self):
        # 64 B round trips of 30-40 µs are over the 10 µs bound: wake-ups dominate.
        self.assertInReport("**Wake-ups dominate small-message latency here**: at 64 B the "
                            "median round trip of `naive_pipe` is 40.0 µs")
        self.assertInReport("Spinning instead of sleeping (`tuned_pipe_spin`) avoids most of "
                            "it: 5.00 µs.")
        self.assertInReport("**pipe-max-size = 1 MiB**")
        self.assertInReport("limited here to 8 KiB per message and 10 messages in flight")

    def test_skipped_rows_are_listed_with_their_reason(self):
        self.assertInReport("- `throughput/posix_mq/64 KiB` skipped: 65536 B is over this "
                            "host's mqueue msgsize_max (8192 B)")
        self.assertInReport("| `posix_mq` | rival | 0.15 | skipped | skipped |")

    def test_no_invented_values(self):
        for bad in ("None", "nan", "inf×"):
            self.assertIsNone(re.search(rf"\b{re.escape(bad)}\b", self.report), bad)

    def test_output_is_deterministic(self):
        again = make_run(os.path.join(self.tmp, "again"), "run")
        plot(again)
        for name in [c + ext for c in CHARTS for ext in (".svg", ".png")] + ["REPORT.md"]:
            with open(os.path.join(self.run_dir, name), "rb") as a, \
                    open(os.path.join(again, name), "rb") as b:
                self.assertEqual(a.read(), b.read(), f"{name} differs between two plots")


class MissingTransportAndErroredRow(PlottedRun):
    """shm_ring absent and one failed benchmark: the report says so and invents nothing."""

    longMessage = False

    ERROR = "follower stalled: no progress for 5 s at message 17"

    @classmethod
    def edit(cls, name, data):
        if name != "pipebench.json":
            return
        data["benchmarks"] = [b for b in data["benchmarks"] if "/shm_ring/" not in b["name"]]
        for b in data["benchmarks"]:
            if b["name"] == "latency/boost_mq/bytes:1048576/manual_time":
                for k in [k for k in b if k.startswith("rtt_") or k == "cpu_s_per_GiB"]:
                    del b[k]
                b.update(error_occurred=True, error_message=cls.ERROR)

    def test_every_chart_is_still_written(self):
        for name in CHARTS:
            for ext in (".svg", ".png"):
                self.assertTrue(os.path.getsize(os.path.join(self.run_dir, name + ext)) > 0)

    def test_missing_transport_is_stated(self):
        self.assertRegex(self.report, r"- Not measured in this run: [^\n]*`shm_ring`")
        self.assertIn("shared memory (`shm_ring`) not measured in this run", self.report)
        # The fraction table keeps its tuned_pipe figures and marks the missing reference.
        self.assertIn("| 1 MiB | 8.00 GiB/s | — | 50% |", self.report)

    def test_errored_row_is_stated_with_its_message(self):
        self.assertIn(f"- `latency/boost_mq/1 MiB` failed: {self.ERROR}", self.report,
                      "error text missing")
        self.assertIn("| `boost_mq` | rival | 20.0 µs | 80.0 µs | error |", self.report)

    def test_winners_come_from_what_was_measured(self):
        # Without shm_ring, tuned_pipe_batch leads at 64 B (1.00 GiB/s vs zmq_ipc's 0.40).
        self.assertIn("| small (≤ 1 KiB) | 64 B | `tuned_pipe_batch` 1.00 GiB/s | "
                      "`tuned_pipe_spin` 0.50 GiB/s | 2.00× |", self.report)

    def test_no_invented_values(self):
        for bad in ("None", "nan"):
            self.assertIsNone(re.search(rf"\b{bad}\b", self.report), bad)


class VerdictOverTheLargeBand(PlottedRun):
    """With two large sizes, the verdict gives ranges and judges on the median, not on one size;
    and a transport that passes memcpy is named as such."""

    # 4 MiB copies of the 1 MiB throughput rows (GiB/s), next to 1 MiB's 8, 1, 10 and 16.
    AT_4_MIB = {"tuned_pipe": 6, "naive_pipe": 1, "shm_ring": 30, "memcpy": 20}

    @classmethod
    def edit(cls, name, data):
        if name != "pipebench.json":
            return
        for b in list(data["benchmarks"]):
            workload, transport, size = b["name"].split("/")[:3]
            if (workload, size) == ("throughput", "bytes:1048576") and transport in cls.AT_4_MIB:
                copy = json.loads(json.dumps(b).replace("bytes:1048576", "bytes:4194304"))
                copy["bytes_per_second"] = cls.AT_4_MIB[transport] * float(1 << 30)
                data["benchmarks"].append(copy)

    def test_ranges_and_the_median_decide(self):
        # tuned_pipe ÷ shm_ring: 80% at 1 MiB, 20% at 4 MiB; the median 50% decides.
        self.assertIn("Yes, at a discount: shared memory is 2.00× faster for large messages. "
                      "From 1 MiB to 4 MiB messages `tuned_pipe` moves 6.00 GiB/s–8.00 GiB/s: "
                      "6.00×–8.00× the naive pipe, 20%–80% (median 50%) of the shared-memory "
                      "ring, 30%–50% (median 40%) of one in-process `memcpy`.", self.report)

    def test_passing_memcpy_is_explained_and_named(self):
        self.assertIn("it is a yardstick, not a hard limit. In this run: `shm_ring` at 4 MiB.",
                      self.report)


class OnlyPipebenchJson(PlottedRun):
    """A run directory without python.json: everything is written, Python is 'not measured'."""

    files = ("pipebench.json",)

    def test_every_file_is_written(self):
        for name in CHARTS:
            for ext in (".svg", ".png"):
                self.assertTrue(os.path.isfile(os.path.join(self.run_dir, name + ext)), name)

    def test_python_rows_are_reported_missing(self):
        self.assertIn("`python.json` is absent: the Python rows were not measured in this run.",
                      self.report)
        self.assertIn("The Python rows were not measured in this run (no `python.json`)",
                      self.report)
        self.assertNotIn("py_pipe` (", self.report)

    def test_cpp_figures_are_unchanged(self):
        self.assertIn("| 1 MiB | 8.00 GiB/s | 80% | 50% | 12.0 GiB/s | 120% | 75% |", self.report)


class Loading(unittest.TestCase):
    """results.py on its own: which row stands for a benchmark."""

    def test_median_not_mean_and_errors_kept_as_errors(self):
        run = results.load_run(FIXTURES)
        m = run.get("throughput", "tuned_pipe", 1 << 20)
        self.assertEqual(m.counters["bytes_per_second"], 8 * (1 << 30))
        self.assertEqual(m.summary, "the median of 3 repetitions")
        skipped = run.get("throughput", "posix_mq", 65536)
        self.assertTrue(skipped.skipped)
        self.assertIsNone(run.value("throughput", "posix_mq", 65536, "bytes_per_second"))
        self.assertIsNone(run.get("throughput", "no_such_transport", 64))

    def test_a_directory_without_results_fails_clearly(self):
        with tempfile.TemporaryDirectory() as empty:
            done = subprocess.run([PLOT, empty], stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, universal_newlines=True, timeout=60)
        self.assertNotEqual(done.returncode, 0)
        self.assertIn("holds neither pipebench.json nor python.json", done.stdout)


class Compare(unittest.TestCase):
    """./scripts/compare --plain: the table of ratios between two runs."""

    def test_plain_table_of_ratios(self):
        with tempfile.TemporaryDirectory() as tmp:
            def faster(name, data):  # B: every throughput doubled, every time halved
                for b in data["benchmarks"]:
                    if "bytes_per_second" in b:
                        b["bytes_per_second"] *= 2
                    if "real_time" in b:
                        b["real_time"] /= 2
            a = make_run(tmp, "a")
            b = make_run(tmp, "b", faster)
            done = subprocess.run([COMPARE, "--plain", a, b], stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, universal_newlines=True, timeout=60)
        self.assertEqual(done.returncode, 0, done.stdout)
        self.assertIn("== pipebench.json", done.stdout)
        self.assertIn("== python.json", done.stdout)
        row = next(line for line in done.stdout.splitlines()
                   if line.startswith("throughput/naive_pipe/bytes:65536 "))
        self.assertEqual(row.split()[-1], "2.000")  # bytes/s B / A
        self.assertIn("0.500", row.split())  # time B / A


if __name__ == "__main__":
    unittest.main()
