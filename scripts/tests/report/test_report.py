"""Tests of ./scripts/plot (charts + REPORT.md), ./scripts/compare and
scripts/report/readme_table.py, on crafted runs.

fixtures/ holds a run in the result shape of issue 10, written by fixtures/make_fixtures.py
(whose docstring lists what is in it): every transport id at 64 B, 64 KiB and 1 MiB, three
repetitions each around round medians (GiB/s and µs that are easy to check by hand), a
control_twin giving a noise floor of 1.05×, one benchmark with a corrupted repetition, one with
two failed repetitions of three, posix_mq skipped above 8 KiB, a 32 MiB last-level cache (so
64 B may be cache-resident) and two repetitions with CPU steal over 5%.

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

import report  # noqa: E402
import results  # noqa: E402
import transports as tp  # noqa: E402
from transport_table import transport_table  # noqa: E402

README_TABLE = os.path.join(ROOT, "scripts", "report", "readme_table.py")

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


def draw_keeping_figure(draw, run, directory):
    """Runs the chart function `draw(run, directory)`; returns what it returned and the figure
    it saved (None if it saved none), for a test to inspect its panels."""
    import charts  # imported here: the other tests of this module need no matplotlib
    kept = []
    save = charts._save
    charts._save = lambda fig, where, name: kept.append(fig) or save(fig, where, name)
    try:
        return draw(run, directory), (kept[0] if kept else None)
    finally:
        charts._save = save


def section_of(report_text, title):
    """The report's section whose heading starts with `title`, up to the next one."""
    start = report_text.index("\n## " + title)
    end = report_text.find("\n## ", start + 1)
    return report_text[start:end if end >= 0 else None]


class RenderedSection(unittest.TestCase):
    """The fixture run, changed by `load_edit`, rendered once per class without charts:
    `self.section` is the part of the report from `heading` up to the next section. The test
    modules of each section subclass it with their heading."""

    longMessage = False
    heading = None  # how the section's title starts, e.g. "Large messages"
    files = ("pipebench.json", "python.json")  # the fixture's files the run holds

    @classmethod
    def edit(cls, name, data):
        """Changes file `name`'s parsed JSON in place; the fixture as it is by default."""

    @classmethod
    def load_edit(cls, name, data):
        """What make_run applies to each file: `edit` alone, unless a section adds rows first."""
        cls.edit(name, data)

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="pipebench-section-")
        cls.loaded = results.load_run(make_run(cls.tmp, "run", cls.load_edit, cls.files))
        cls.report = report.render(cls.loaded, {})
        cls.section = section_of(cls.report, cls.heading)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp)

    def assertInSection(self, text):
        self.assertIn(text, self.section, f"not in the section: {text!r}\n{self.section}")


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

    def section(self, title):
        return section_of(self.report, title)

    def test_value_is_the_median_of_the_repetitions_not_an_aggregate(self):
        # Appendix row: 0.25, 4.00 and the *median* 8.00 GiB/s (the mean would be 8.43).
        self.assertInReport("| `tuned_pipe` | pipe | 0.25 | 4.00 | 8.00 |")
        self.assertInReport("| `tuned_pipe` | pipe | 30.0 µs | 50.0 µs | 400 µs |")
        self.assertNotIn("8.43", self.report)

    def test_a_value_from_fewer_repetitions_is_marked(self):
        # tuned_pipe_built at 1 MiB: 2 of 3 succeeded; zmq_tcp's latency at 64 KiB: 1 of 3.
        self.assertInReport("| `tuned_pipe_built` | pipe | 0.25 | 4.00 | 6.00† |")
        self.assertInReport("| `zmq_tcp` | rival | 70.0 µs | 100 µs† | 1.00 ms |")
        self.assertInReport("the median of 3 repetitions (2 of 158 values from fewer, marked †)")

    def test_every_failed_repetition_is_listed_corruption_first(self):
        gaps = self.section("Not measured, skipped and failed").splitlines()
        corruption = ("- **corruption**: `throughput/tuned_pipe_built/1 MiB` repetition 1 "
                      "(2 of 3 succeeded; the value is the median of the 2 that did): receiver: "
                      "message 17: checksum mismatch (corrupted payload)")
        loss = ("- **loss**: `latency/zmq_tcp/64 KiB` repetition 2 (1 of 3 succeeded; the value "
                "is the one that succeeded): receiver: message 17: carries the stamp of message "
                "18 (lost, duplicated or reordered)")
        stall = ("- **failed**: `latency/zmq_tcp/64 KiB` repetition 0 (1 of 3 succeeded; the "
                 "value is the one that succeeded): stalled: no progress for 5000 ms")
        skip = ("- `throughput/posix_mq/64 KiB` skipped (3 of 3 repetitions): 65536 B is over "
                "this host's mqueue msgsize_max (8192 B)")
        order = [next(i for i, line in enumerate(gaps) if line.startswith(want))
                 for want in (corruption, loss, stall, skip)]
        self.assertEqual(order, sorted(order), "listed out of order:\n" + "\n".join(gaps))

    def test_noise_floor_is_stated_at_the_top(self):
        floor = self.report.index("## How far the numbers hold: the noise floor")
        self.assertLess(floor, self.report.index("## Verdict"))
        self.assertEqual(self.report.index("\n## ") + 1, floor, "not the first section")
        trust = self.section("How far the numbers hold")
        self.assertIn("| throughput | 64 KiB | 0.95× | 1.07× |", trust)  # twin ÷ tuned, worst
        self.assertIn("| latency (p50) | 64 B° | 1.05× | 1.44× |", trust)
        self.assertIn("**Noise floor: 1.05× for throughput and 1.05× for p50 round trip**", trust)
        self.assertIn("**The rule used everywhere below:** two transports differ at a size only "
                      "when the ratio of their medians exceeds the noise floor and their "
                      "repetitions do not overlap", trust)

    def test_cache_resident_sizes_are_marked_and_explained_once(self):
        self.assertInReport("| small (≤ 1 KiB) | 64 B° |")
        self.assertInReport("| medium (4–64 KiB) | 64 KiB |")
        self.assertInReport("| large (≥ 256 KiB) | 1 MiB |")
        self.assertEqual(self.report.count("may have been cache-resident"), 1)
        self.assertInReport("its payload pool being under 4× this host's 32 MiB last-level cache "
                            "(8 MiB at 64 B)")

    def test_batch_above_its_limit_is_the_same_code_as_tuned_pipe(self):
        self.assertInReport("| `tuned_pipe_batch` | `tuned_pipe` | 10.0× (4.00×) | same code as "
                            "`tuned_pipe` | same code as `tuned_pipe` |")
        self.assertInReport("| `tuned_pipe_batch` | pipe | 1.00 | 4.00‡ | 8.00‡ |")
        self.assertInReport("4.00× at 64 B, the same code as `tuned_pipe` at 64 KiB, the same "
                            "code as `tuned_pipe` at 1 MiB.")

    def test_disturbed_repetitions_are_counted_and_left_out_of_the_median(self):
        self.assertInReport("at most 17.5% in this run (`throughput/socketpair/64 KiB` "
                            "repetition 2)")
        self.assertInReport("2 of ")
        self.assertInReport("repetitions lost more than 10%: they are *disturbed*")
        socketpair = results.load_run(self.run_dir).get("throughput", "socketpair", 64 << 10)
        self.assertEqual(socketpair.left_out, 1)
        self.assertEqual(socketpair.summary, "median of 2 of 3 repetitions (1 disturbed left out)")
        self.assertFalse(socketpair.disturbed)  # two calm repetitions remain

    def test_transport_table_comes_from_the_labels(self):
        table = self.section("The transports as this run configured them")
        self.assertIn("| `tuned_pipe` | pipe | pipes: pipe 1 MiB (asked pipe-max-size), header "
                      "+ payload in one writev, read-ahead, vmsplice from a staging ring for "
                      "payloads >= 8 KiB; send_bytes from the sender's pool |", table)
        self.assertIn("| `py_pipe_bigbuf` | python | multiprocessing.Pipe(duplex=False), "
                      "F_SETPIPE_SZ to pipe-max-size: pipe 1 MiB, send_bytes/recv_bytes |", table)
        # A label recorded at some sizes only is given with those sizes.
        self.assertIn("64 slots x 64 KiB; at 1 MiB: boost::interprocess::message_queue per "
                      "direction, 64 slots x 64 KiB; messages chunked to 64 KiB |", table)

    def test_python_claims_compare_like_for_like_pairs_only(self):
        partners = {}
        for p in tp.PYTHON_PAIRS:
            partners.setdefault(p.python, set()).add(p.cpp)
        for title in ("Verdict", "Python"):
            for line in self.section(title).splitlines():
                ids = set(re.findall(r"`([a-z0-9_]+)`", line)) & set(tp.known_ids())
                py = {t for t in ids if tp.get(t).family == tp.PYTHON}
                cpp = ids - py
                if py and cpp:
                    allowed = set().union(*(partners.get(t, set()) for t in py))
                    self.assertLessEqual(cpp, allowed, f"not like for like: {line}")
        self.assertInReport("- **`py_pipe_bigbuf` against `pipe_bigbuf`** (a pipe grown to "
                            "pipe-max-size, no other lever): at 1 MiB, 1.20 GiB/s against "
                            "2.00 GiB/s, 60% of C++.")
        self.assertInReport("| `py_from_tuned_pipe` ÷ `tuned_pipe` | 0.080× | 0.38× | 0.25× |")
        # The module: Python on both sides through pipes, bytes and then objects out of band.
        self.assertInReport("| `py_tuned_pipe` ÷ `tuned_pipe` | 0.12× | 0.50× | 0.62× |")
        self.assertInReport("| `py_tuned_pipe_oob` ÷ `tuned_pipe` | 0.50× | 0.62× | 0.50× |")
        self.assertInReport("- **`py_tuned_pipe` against `tuned_pipe`** (the pipes library with "
                            "its default options on both sides, called from Python): at 1 MiB, "
                            "5.00 GiB/s against 8.00 GiB/s, 62% of C++.")
        self.assertNotIn("what Python gets through", self.report)

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
        self.assertInReport("| small (≤ 1 KiB) | 64 B° | `shm_ring` 1.50 GiB/s | "
                            "`tuned_pipe_batch` 1.00 GiB/s | 1.50× |")
        self.assertInReport("| medium (4–64 KiB) | 64 KiB | `shm_ring` 8.00 GiB/s | "
                            "`tuned_pipe_loan` 5.00 GiB/s | 1.60× |")
        self.assertInReport("| large (≥ 256 KiB) | 1 MiB | `tuned_pipe_loan` 12.0 GiB/s | "
                            "`shm_ring` 10.0 GiB/s | 1.20× |")
        self.assertInReport("| small (≤ 1 KiB) | 64 B° | `tuned_pipe_spin` 5.00 µs | "
                            "`shm_ring` 10.0 µs | 2.00× |")
        # Equal medians, overlapping repetitions: a tie, both named, neither the winner.
        self.assertInReport("| medium (4–64 KiB) | 64 KiB | tie: `tuned_pipe_spin` 20.0 µs, "
                            "`shm_ring` 20.0 µs | `tuned_pipe_loan` 45.0 µs | 2.25× | "
                            "`tuned_pipe_spin` (in the tie) | `shm_ring` (in the tie) |")

    def test_lever_gains(self):
        # Each cell: multiple of naive_pipe, then (multiple of the step it is compared with);
        # equal medians are a tie, never "1.00×".
        self.assertInReport("| `pipe_bigbuf` | `pipe_levers_off` | 1.25× (tie) | "
                            "1.25× (1.25×) | 2.00× (2.00×) |")
        self.assertInReport("| `pipe_vmsplice` | `pipe_levers_off` | 1.25× (tie) | "
                            "1.50× (1.50×) | 4.00× (4.00×) |")
        self.assertInReport("| `tuned_pipe_loan` | `tuned_pipe_built` | 2.50× (tie) | "
                            "2.50× (1.25×) | 12.0× (2.00×) |")
        self.assertInReport("- `pipe_bigbuf` (levers off + pipe grown to pipe-max-size), against "
                            "levers off: a tie at 64 B, 1.25× at 64 KiB, 2.00× at 1 MiB.")
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
        self.assertInReport("- **`py_pipe` against `naive_pipe`** (a default 64 KiB pipe, "
                            "Python's framing): at 1 MiB, 0.30 GiB/s against 1.00 GiB/s, 30% of "
                            "C++.")
        self.assertInReport("0.60 GiB/s at 1 MiB, 2.00× `py_pipe`; so pickling is not what holds "
                            "Python back here")
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
        self.assertInReport("- `throughput/posix_mq/64 KiB` skipped (3 of 3 repetitions): 65536 B "
                            "is over this host's mqueue msgsize_max (8192 B)")
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
        for rep in range(3):  # every repetition failed, and each is listed
            self.assertIn(f"- **failed**: `latency/boost_mq/1 MiB` repetition {rep} (0 of 3 "
                          f"succeeded; no value): {self.ERROR}", self.report,
                          "error text missing")
        self.assertIn("| `boost_mq` | rival | 20.0 µs | 80.0 µs | error |", self.report)

    def test_winners_come_from_what_was_measured(self):
        # Without shm_ring, tuned_pipe_batch leads at 64 B (1.00 GiB/s vs zmq_ipc's 0.40).
        self.assertIn("| small (≤ 1 KiB) | 64 B° | `tuned_pipe_batch` 1.00 GiB/s | "
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


def scale_rows(data, prefix, factor):
    """Multiplies the throughput of every iteration row whose name starts with `prefix`."""
    for b in data["benchmarks"]:
        if b["name"].startswith(prefix) and b.get("run_type") == "iteration":
            b["bytes_per_second"] *= factor
            b["items_per_second"] *= factor


class GapBelowTheNoiseFloor(PlottedRun):
    """shm_ring at 1 MiB brought to 11.6 GiB/s (tuned_pipe_loan: 12.0) and pipe_readahead to
    1.04 GiB/s (levers off and naive_pipe: 1.00): gaps of 1.03× and 1.04×, under the 1.05×
    floor, while the repetitions (±1%) do not overlap. The floor makes both a tie."""

    longMessage = False

    @classmethod
    def edit(cls, name, data):
        if name == "pipebench.json":
            scale_rows(data, "throughput/shm_ring/bytes:1048576/", 1.16)
            scale_rows(data, "throughput/pipe_readahead/bytes:1048576/", 1.04)

    def test_winner_table_writes_a_tie(self):
        self.assertIn("| large (≥ 256 KiB) | 1 MiB | tie: `tuned_pipe_loan` 12.0 GiB/s, "
                      "`shm_ring` 11.6 GiB/s | `tuned_pipe` 8.00 GiB/s |", self.report)
        self.assertIn("large (≥ 256 KiB): tie: `tuned_pipe_loan`, `shm_ring` at 1 of 1 size",
                      self.report)

    def test_lever_table_writes_a_tie(self):
        self.assertIn("| `pipe_readahead` | `pipe_levers_off` | 2.50× (2.00×) | tie (tie) | "
                      "tie (tie) |", self.report)
        self.assertIn("levers off: 2.00× at 64 B, a tie at 64 KiB, a tie at 1 MiB.", self.report)


class GapWithoutANoiseFloor(GapBelowTheNoiseFloor):
    """The same gaps in a run without control_twin: the repetitions alone decide, and they do
    not overlap, so the same gaps are a win and a gain."""

    @classmethod
    def edit(cls, name, data):
        super().edit(name, data)
        data["benchmarks"] = [b for b in data["benchmarks"] if "/control_twin/" not in b["name"]]

    def test_winner_table_writes_a_tie(self):
        self.assertIn("| large (≥ 256 KiB) | 1 MiB | `tuned_pipe_loan` 12.0 GiB/s | `shm_ring` "
                      "11.6 GiB/s | 1.03× |", self.report)

    def test_lever_table_writes_a_tie(self):
        self.assertIn("| `pipe_readahead` | `pipe_levers_off` | 2.50× (2.00×) | tie (tie) | "
                      "1.04× (1.04×) |", self.report)

    def test_no_noise_floor_is_said_so(self):
        self.assertIn("**No noise floor was measured in this run** (it has no `control_twin` "
                      "rows). **The rule used everywhere below** rests on the repetitions alone: "
                      "two transports differ at a size only when their repetitions do not "
                      "overlap", self.report)
        self.assertLess(self.report.index("No noise floor was measured"),
                        self.report.index("## Verdict"))


class BatchFastestAboveItsLimit(PlottedRun):
    """tuned_pipe_batch at 1 MiB made the fastest of all (16 GiB/s): above 16 KiB it is
    tuned_pipe's code, so no table and no verdict may credit send_batch with it."""

    longMessage = False

    @classmethod
    def edit(cls, name, data):
        if name == "pipebench.json":
            scale_rows(data, "throughput/tuned_pipe_batch/bytes:1048576/", 2.0)

    def test_batch_is_never_named_best_above_its_limit(self):
        self.assertIn("| large (≥ 256 KiB) | 1 MiB | `tuned_pipe_loan` 12.0 GiB/s | `shm_ring` "
                      "10.0 GiB/s | 1.20× | `tuned_pipe_loan` (the winner) |", self.report)
        self.assertIn("The best pipe figure in this run is `tuned_pipe_loan` at 1 MiB: "
                      "12.0 GiB/s", self.report)
        self.assertNotIn("`tuned_pipe_batch` 16.0", self.report)
        self.assertIn("| `tuned_pipe_batch` | pipe | 1.00 | 4.00‡ | 16.0‡ |", self.report)


class UnknownCacheSize(PlottedRun):
    """host_llc_bytes "unknown": any size may have been cache-resident, so every one is marked."""

    @classmethod
    def edit(cls, name, data):
        data["context"]["host_llc_bytes"] = "unknown"

    def test_every_size_is_marked(self):
        self.assertIn("| transport | family | 64 B° | 64 KiB° | 1 MiB° |", self.report)
        self.assertIn("This run did not know its last-level cache size, so every size is marked.",
                      self.report)


class Loading(unittest.TestCase):
    """results.py on its own: which row stands for a benchmark."""

    def test_median_not_mean_and_errors_kept_as_errors(self):
        run = results.load_run(FIXTURES)
        m = run.get("throughput", "tuned_pipe", 1 << 20)
        self.assertEqual(m.counters["bytes_per_second"], 8 * (1 << 30))
        self.assertEqual(m.summary, "median of 3 repetitions")
        skipped = run.get("throughput", "posix_mq", 65536)
        self.assertTrue(skipped.skipped)
        self.assertIsNone(run.value("throughput", "posix_mq", 65536, "bytes_per_second"))
        self.assertIsNone(run.get("throughput", "no_such_transport", 64))

    def test_value_is_the_median_of_the_successful_repetitions(self):
        run = results.load_run(FIXTURES)
        m = run.get("throughput", "tuned_pipe_built", 1 << 20)  # repetition 1 corrupted
        self.assertEqual((m.n_ok, m.n_total, m.requested), (2, 3, 3))
        self.assertAlmostEqual(m.counters["bytes_per_second"], 6 * (1 << 30))
        self.assertEqual(m.summary, "median of 2 of 3 repetitions")
        self.assertTrue(m.short)
        self.assertEqual([(f.index, f.kind) for f in m.failures], [(1, "corruption")])
        m = run.get("latency", "zmq_tcp", 64 << 10)  # repetitions 0 and 2 failed
        self.assertEqual(m.summary, "1 of 3 repetitions (no median)")
        self.assertEqual([f.kind for f in m.failures], ["failure", "loss"])
        self.assertEqual(m.counters["rtt_p50_ns"], 100_000)

    def test_failures_are_classified_as_the_contract_says(self):
        kind = results.failure_kind
        self.assertEqual(kind("receiver: message 17: checksum mismatch (corrupted payload)"),
                         "corruption")
        self.assertEqual(kind("only 100 of 200 bytes were checked"), "loss")
        self.assertEqual(kind("sender at message 1234: the sender process died (killed by "
                              "signal 9 (Killed))"), "failure")
        self.assertEqual(kind("skipped: posix_mq cannot carry 1 MiB"), "skipped")

    def test_transport_table_has_one_row_per_transport_from_its_labels(self):
        run = results.load_run(FIXTURES)
        rows = transport_table(run)[2:]
        self.assertEqual([r.split("`")[1] for r in rows], run.transports())
        self.assertIn("| `control_twin` | control | pipes: pipe 1 MiB (asked pipe-max-size)",
                      "\n".join(rows))

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


class ReadmeTable(unittest.TestCase):
    """scripts/report/readme_table.py keeps a README's transport table equal to a run's labels."""

    BEFORE = "# Title\n\nSome text.\n\n"
    AFTER = "\nMore text, kept as it is.\n"

    def run_tool(self, *args):
        return subprocess.run([sys.executable, README_TABLE, *args], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, universal_newlines=True, timeout=60)

    def test_check_fails_on_a_stale_table_and_passes_after_write(self):
        with tempfile.TemporaryDirectory() as tmp:
            readme = os.path.join(tmp, "README.md")
            with open(readme, "w", encoding="utf-8") as f:
                f.write(self.BEFORE + "<!-- transports:begin -->\n| id | configuration |\n"
                        "|---|---|\n| `tuned_pipe` | typed by hand |\n"
                        "<!-- transports:end -->\n" + self.AFTER)
            stale = self.run_tool("--check", readme, FIXTURES)
            self.assertEqual(stale.returncode, 1, stale.stdout)
            self.assertIn("the transport table is stale", stale.stdout)
            written = self.run_tool("--write", readme, FIXTURES)
            self.assertEqual(written.returncode, 0, written.stdout)
            current = self.run_tool("--check", readme, FIXTURES)
            self.assertEqual(current.returncode, 0, current.stdout)
            with open(readme, encoding="utf-8") as f:
                text = f.read()
        table = "\n".join(transport_table(results.load_run(FIXTURES)))
        self.assertEqual(text, self.BEFORE + "<!-- transports:begin -->\n" + table +
                         "\n<!-- transports:end -->\n" + self.AFTER)

    def test_missing_markers_are_an_error(self):
        with tempfile.TemporaryDirectory() as tmp:
            readme = os.path.join(tmp, "README.md")
            with open(readme, "w", encoding="utf-8") as f:
                f.write(self.BEFORE)
            done = self.run_tool("--check", readme, FIXTURES)
        self.assertEqual(done.returncode, 2, done.stdout)
        self.assertIn("<!-- transports:begin -->", done.stdout)


if __name__ == "__main__":
    unittest.main()
