"""The worker-pools section (scripts/report/pools.py on crowd.py, its chart in charts.py), on the
fixture run with worker-pool rows added (fixtures/fan.json, written by fixtures/make_fixtures.py:
the C++ rows go to pipebench.json, the Python ones to python.json).

The rows, aggregate GiB/s at 1, 2 and 4 workers and the slowest worker's share at 2 and 4:
fanout at 4 KiB tuned_pipe 1.0, 1.2, 1.1 (0.9, 0.8); control_twin 1.02, 1.18, 1.12; shm_ring
2.0, 1.5, 0.8 (0.7, 0.5); boost_mq 0.4, 0.5, 0.5 (0.95, 0.9), repetition 1 at 4 workers failed
(corruption); py_pool 0.05, 0.08, 0.09 (0.85, 0.8). Fanout at 1 MiB tuned_pipe 6.0, 6.2, 6.1;
control_twin 6.1, 6.0, 6.3; shm_ring 8, 7, 5 (0.8, 0.6). Fanin at 4 KiB tuned_pipe 0.9, 1.3, 1.4;
control_twin 0.92, 1.28, 1.45; shm_ring 1.8, 1.0, 0.6 (0.5, 0.4); py_queue 0.02, 0.03, 0.03.
Fanin at 1 MiB boost_mq 0.4, 0.45 and every repetition at 4 workers stalled. The twin makes
noise floors of 1.02x, 1.03x, 1.03x (fanout) and 1.02x, 1.02x, 1.04x (fanin). Repetitions are
SPREAD x the medians; the run was pinned to CPUs 0 and 1 of 2.
"""
import json
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "report"))

import charts  # noqa: E402
import pools  # noqa: E402
import report  # noqa: E402
import results  # noqa: E402
from test_report import (FIXTURES, PlottedRun, RenderedSection, draw_keeping_figure,  # noqa: E402
                         make_run, section_of)

KiB, MiB = 1 << 10, 1 << 20
HEADING = "Worker pools: fanout and fanin"


def with_fan(name, data):
    """The C++ pool rows into pipebench.json, the Python ones (py_) into python.json."""
    with open(os.path.join(FIXTURES, "fan.json"), encoding="utf-8") as f:
        rows = json.load(f)["benchmarks"]
    python = name == "python.json"
    data["benchmarks"] += [r for r in rows if r["name"].split("/")[1].startswith("py_") == python]


class Section(RenderedSection):
    """The fixture with the pool rows: `self.section` is the worker-pools section."""

    heading = HEADING

    @classmethod
    def load_edit(cls, name, data):
        with_fan(name, data)
        cls.edit(name, data)


class Measured(Section):

    def test_each_worker_count_is_a_benchmark_of_its_own(self):
        run = self.loaded
        self.assertEqual(pools.counts(run), [1, 2, 4])
        self.assertEqual(pools.FANOUT.scales(run), [1, 2, 4])
        m = run.get(pools.FANOUT.at(4), "boost_mq", 4 * KiB)
        self.assertEqual((m.n_ok, m.ran), (2, 3))
        self.assertEqual(run.get("fanin@2", "py_queue", MiB).source, "python.json")
        self.assertAlmostEqual(run.value("fanout@1", "py_pool", 4 * KiB, "bytes_per_second"),
                               0.05 * (1 << 30))
        self.assertNotIn(("fanout", "tuned_pipe", 4 * KiB), run.measurements)

    def test_the_worker_counts_do_not_change_the_other_sections(self):
        self.assertIn("each value is the median of 3 repetitions", self.report)
        plain = report.render(results.load_run(make_run(self.tmp, "plain")), {})
        changed = {HEADING,
                   "Not measured, skipped and failed",  # lists the pools' failures
                   "Where the answer depends on the machine",  # counts every repetition's steal
                   "The transports as this run configured them"}  # gains the Python pool's row
        titles = [line[3:] for line in plain.splitlines() if line.startswith("## ")]
        for title in titles:
            if not any(title.startswith(c) for c in changed):
                self.assertEqual(section_of(self.report, title), section_of(plain, title), title)

    def test_aggregate_scaling_and_share_per_direction_and_size(self):
        self.assertInSection("**fanout, 4 KiB messages**")
        self.assertInSection("| transport | 1 worker | 2 workers | 4 workers | scaling 1→4 | "
                             "slowest worker's share at 4 |")
        # 1.1 against 1.0 GiB/s clears the wider floor (1.03x at 4 workers).
        self.assertInSection("| `tuned_pipe` | 1.00 GiB/s | 1.20 GiB/s | 1.10 GiB/s | 1.10× | "
                             "0.80 |")
        self.assertInSection("| `py_pool` | 0.050 GiB/s | 0.080 GiB/s | 0.090 GiB/s | 1.80× | "
                             "0.80 |")
        self.assertInSection("**fanin, 4 KiB messages**")
        self.assertInSection("| `shm_ring` | 1.80 GiB/s | 1.00 GiB/s | 0.60 GiB/s | 0.33× | "
                             "0.40 |")
        self.assertInSection("| `py_queue` | 0.020 GiB/s | 0.030 GiB/s | 0.030 GiB/s | 1.50× | "
                             "0.60 |")

    def test_scaling_inside_the_noise_floor_is_a_tie(self):
        # 6.1 against 6.0 GiB/s is 1.017x, inside the 1.03x floor of fanout at 4 workers.
        self.assertInSection("| `tuned_pipe` | 6.00 GiB/s | 6.20 GiB/s | 6.10 GiB/s | tie | "
                             "0.90 |")
        self.assertInSection("Noise floor of the aggregate (`control_twin` against `tuned_pipe`, "
                             "both run as worker pools; the widest gap at any size): fanout "
                             "1.02× at 1 worker, 1.03× at 2 workers, 1.03× at 4 workers; fanin "
                             "1.02× at 1 worker, 1.02× at 2 workers, 1.04× at 4 workers. A "
                             "scaling ratio must clear the wider floor of its two worker counts.")

    def test_failed_benchmarks_are_shown_and_listed(self):
        # Repetitions 0 and 2 remain at 4 workers: 0.5025 GiB/s, 1.26x the 0.4 at 1 worker.
        self.assertInSection("| `boost_mq` | 0.40 GiB/s | 0.50 GiB/s | 0.50 GiB/s† | 1.26× | "
                             "0.90† |")
        self.assertInSection("| `boost_mq` | 0.40 GiB/s | 0.45 GiB/s | error | — | error |")
        gaps = section_of(self.report, "Not measured, skipped and failed")
        self.assertIn("`fanout@4/boost_mq/4 KiB` repetition 1", gaps)
        self.assertIn("`fanin@4/boost_mq/1 MiB`", gaps)

    def test_most_moved_and_least_even_come_from_the_data(self):
        self.assertInSection("With 4 workers of 4 KiB messages in fanout the most moved (all "
                             "workers together): `tuned_pipe` (1.10 GiB/s); the least even (the "
                             "slowest worker's share of the workers' mean): `shm_ring` (0.50).")
        self.assertInSection("With 4 workers of 1 MiB messages in fanin the most moved (all "
                             "workers together): `tuned_pipe` (5.60 GiB/s); the least even (the "
                             "slowest worker's share of the workers' mean): `shm_ring` (0.55).")

    def test_the_cpus_say_what_the_worker_counts_measure(self):
        self.assertInSection("This machine has 2 CPUs, and the hub was pinned to CPU 0 and every "
                             "worker to CPU 1: at *W* workers, *W* processes share CPU 1, so the "
                             "rows at 2 workers and 4 workers measure oversubscription")
        self.assertInSection("`py_queue`, `py_pool` ran unpinned (the Python baselines leave "
                             "their processes to the scheduler): at *W* workers, the hub and its "
                             "workers are *W* + 1 processes on 2 CPUs, oversubscribed at 2 "
                             "workers and 4 workers.")

    def test_the_section_sits_between_the_pairs_and_the_remote_peer(self):
        headings = [line for line in self.report.splitlines() if line.startswith("## ")]
        at = next(i for i, h in enumerate(headings) if h.startswith("## " + HEADING))
        self.assertTrue(headings[at - 1].startswith("## Many pairs at once"))
        self.assertTrue(headings[at + 1].startswith("## Local against remote"))


class WithoutATwin(Section):
    """No noise-floor twin among the pools: the repetitions alone decide a tie, and it says so."""

    @classmethod
    def edit(cls, name, data):
        data["benchmarks"] = [r for r in data["benchmarks"]
                              if "/control_twin/" not in r["name"] or "workers:" not in r["name"]]

    def test_the_ratio_is_not_tested_against_noise(self):
        self.assertInSection("This run has no `control_twin` fanout or fanin rows, so the scaling "
                             "ratios were not tested against a noise floor: only their "
                             "repetitions' overlap makes a tie.")
        # 1.10x at 4 KiB, whose repetitions do not overlap, stays a ratio; 1.017x at 1 MiB,
        # whose repetitions overlap, stays a tie.
        self.assertInSection("| `tuned_pipe` | 1.00 GiB/s | 1.20 GiB/s | 1.10 GiB/s | 1.10× | ")
        self.assertInSection("| `tuned_pipe` | 6.00 GiB/s | 6.20 GiB/s | 6.10 GiB/s | tie | ")


class Unpinned(Section):

    @classmethod
    def edit(cls, name, data):
        if name == "pipebench.json":
            data["context"]["pipebench_cpus"] = "-1,-1"

    def test_the_processes_are_counted_against_the_cpus(self):
        self.assertInSection("This machine has 2 CPUs and the workers ran unpinned: *W* workers "
                             "and their hub are *W* + 1 processes, so the rows at 2 workers and "
                             "4 workers measure oversubscription")
        self.assertNotIn("ran unpinned (the Python baselines", self.section)


class NotMeasured(RenderedSection):
    """The fixture as it is, without pool rows: one line says how to measure them."""

    heading = HEADING

    def test_the_section_says_how_to_run_it(self):
        self.assertEqual(self.section.strip().splitlines()[1:],
                         ["", "Not measured in this run: run `./scripts/bench --fan`, or "
                              "`pipebench --workloads=fanout,fanin` (worker counts from "
                              "`--workers`, default 1,2,4) and `./scripts/python_baselines "
                              "--workloads fanout,fanin` for Python's pools."])

    def test_no_chart(self):
        out = os.path.join(self.tmp, "charts")
        os.makedirs(out)
        self.assertIs(charts.fan_throughput(self.loaded, out), False)
        self.assertEqual(os.listdir(out), [])


class Plotted(PlottedRun):
    """./scripts/plot on the fixture with the pool rows: the chart is written and embedded."""

    edit = staticmethod(with_fan)

    def test_the_chart_is_written_and_embedded(self):
        for ext in (".svg", ".png"):
            self.assertGreater(os.path.getsize(os.path.join(self.run_dir,
                                                            "fan_throughput" + ext)), 0)
        self.assertIn("[![Worker pools: aggregate throughput against the number of workers]"
                      "(fan_throughput.png)](fan_throughput.svg)", self.report)


class Chart(Section):
    """The chart's panels: a row per direction, a panel per size, a line per transport."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        _drawn, figure = draw_keeping_figure(charts.fan_throughput, cls.loaded, cls.tmp)
        cls.axes = figure.axes

    def test_panels_and_lines(self):
        self.assertEqual([ax.get_title() for ax in self.axes],
                         ["fanout, 4 KiB messages", "fanout, 1 MiB messages",
                          "fanin, 4 KiB messages", "fanin, 1 MiB messages"])
        lines = {line.get_label(): line for line in self.axes[2].get_lines()}
        self.assertEqual(sorted(lines), ["boost_mq", "py_queue", "shm_ring", "tuned_pipe"])
        xs, ys = lines["shm_ring"].get_data()
        self.assertEqual(list(xs), [1, 2, 4])
        self.assertEqual([round(y, 2) for y in ys], [1.8, 1.0, 0.6])  # GiB/s

    def test_the_legend_names_every_panel_and_what_is_not_drawn(self):
        legend = "\n".join(t.get_text() for t in self.axes[1].get_legend().get_texts())
        legend = legend.replace("\n  ", " ").replace("\u00a0", " ")
        for t in ("tuned_pipe", "py_pool", "py_queue"):  # py_queue is in fanin's panels only
            self.assertIn(t, legend.splitlines())
        self.assertIn("fanin boost_mq 1 MiB at 4 workers (error)", legend)
        self.assertIn("control_twin 4 KiB, 1 MiB (same code as tuned_pipe)", legend)
        self.assertIn("oversubscribed", legend)


if __name__ == "__main__":
    unittest.main()
