"""The many-pairs section (scripts/report/pairs.py on crowd.py, its chart in charts.py), on the
fixture run with pairs rows added (fixtures/pairs.json, written by fixtures/make_fixtures.py).

The rows, aggregate GiB/s at 1, 2 and 4 pairs and the slowest pair's share at 2 and 4: at
4 KiB tuned_pipe 1.0, 1.1, 1.2 (0.95, 0.9); control_twin 1.03, 1.12, 1.26 (0.95, 0.88);
boost_mq 0.5, 0.6, 0.6 (0.9, 0.8), with repetition 1 at 4 pairs failed (bytes lost); shm_ring
3.0, 2.0, 0.9 (0.6, 0.45); zmq_ipc 0.8, 1.2, 1.4 (0.95, 0.9). At 1 MiB tuned_pipe 8.0, 8.4, 8.2
(0.97, 0.93); control_twin 8.2, 8.3, 8.0; boost_mq 0.4, 0.5, 0.5 (0.7, 0.6); shm_ring 10, 9, 8
(0.8, 0.75); zmq_ipc 2, 3, 3.5 (0.95, 0.92). memcpy is skipped. The twin makes noise floors of
1.03x, 1.02x and 1.05x at 1, 2 and 4 pairs. Repetitions are SPREAD x the medians; the run was
pinned to CPUs 0 and 1 of 2.
"""
import json
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "report"))

import charts  # noqa: E402
import pairs  # noqa: E402
import report  # noqa: E402
import results  # noqa: E402
from test_report import (FIXTURES, PlottedRun, RenderedSection, draw_keeping_figure,  # noqa: E402
                         make_run, section_of)

KiB = 1 << 10
HEADING = "Many pairs at once"


def pairs_rows():
    with open(os.path.join(FIXTURES, "pairs.json"), encoding="utf-8") as f:
        return json.load(f)["benchmarks"]


def with_pairs(name, data):
    if name == "pipebench.json":
        data["benchmarks"] += pairs_rows()


class Section(RenderedSection):
    """The fixture with the pairs rows: `self.section` is the many-pairs section."""

    heading = HEADING

    @classmethod
    def load_edit(cls, name, data):
        with_pairs(name, data)
        cls.edit(name, data)


class Measured(Section):

    def test_each_pair_count_is_a_benchmark_of_its_own(self):
        run = self.loaded
        self.assertEqual(pairs.counts(run), [1, 2, 4])
        m = run.get(pairs.PAIRS.at(4), "boost_mq", 4 * KiB)
        self.assertEqual((m.n_ok, m.ran), (2, 3))
        self.assertNotIn(("pairs", "boost_mq", 4 * KiB), run.measurements)

    def test_the_pair_counts_do_not_pool_into_the_header_or_the_other_sections(self):
        # Pooled, the three counts would count as nine repetitions of one benchmark.
        self.assertIn("each value is the median of 3 repetitions", self.report)
        plain = report.render(results.load_run(make_run(self.tmp, "plain")), {})
        changed = {HEADING,
                   "Not measured, skipped and failed",  # lists the pairs' failures
                   "Where the answer depends on the machine"}  # counts every repetition's steal
        titles = [line[3:] for line in plain.splitlines() if line.startswith("## ")]
        for title in titles:
            if not any(title.startswith(c) for c in changed):
                self.assertEqual(section_of(self.report, title), section_of(plain, title), title)

    def test_aggregate_scaling_and_share_by_size(self):
        self.assertInSection("| transport | 1 pair | 2 pairs | 4 pairs | scaling 1→4 | "
                             "slowest pair's share at 4 |")
        self.assertInSection("| `tuned_pipe` | 1.00 GiB/s | 1.10 GiB/s | 1.20 GiB/s | 1.20× | "
                             "0.90 |")
        self.assertInSection("| `shm_ring` | 3.00 GiB/s | 2.00 GiB/s | 0.90 GiB/s | 0.30× | "
                             "0.45 |")
        self.assertInSection("| `zmq_ipc` | 2.00 GiB/s | 3.00 GiB/s | 3.50 GiB/s | 1.75× | "
                             "0.92 |")

    def test_scaling_inside_the_noise_floor_is_a_tie(self):
        # 8.2 against 8.0 GiB/s is 1.025x, inside the 1.05x floor at 4 pairs.
        self.assertInSection("| `tuned_pipe` | 8.00 GiB/s | 8.40 GiB/s | 8.20 GiB/s | tie | "
                             "0.93 |")
        self.assertInSection("Noise floor of the aggregate (`control_twin` against `tuned_pipe`, "
                             "both run as pairs; the widest gap at any size): 1.03× at 1 pair, "
                             "1.02× at 2 pairs, 1.05× at 4 pairs.")

    def test_most_moved_and_least_even_come_from_the_data(self):
        self.assertInSection("With 4 pairs of 4 KiB messages the most moved (all pairs "
                             "together): `zmq_ipc` (1.40 GiB/s); the least even (the slowest "
                             "pair's share of the pairs' mean): `shm_ring` (0.45).")
        self.assertInSection("With 4 pairs of 1 MiB messages the most moved (all pairs "
                             "together): tie: `tuned_pipe` (8.20 GiB/s), `shm_ring` (8.00 GiB/s); "
                             "the least even (the slowest pair's share of the pairs' mean): "
                             "`boost_mq` (0.60).")

    def test_the_cpus_say_what_the_pair_counts_measure(self):
        self.assertInSection("This machine has 2 CPUs, and every leader was pinned to CPU 0 and "
                             "every follower to CPU 1: at *P* pairs, *P* processes share each of "
                             "those two CPUs, so the rows at 2 pairs and 4 pairs measure "
                             "oversubscription")

    def test_failed_and_skipped_benchmarks_are_shown_and_listed(self):
        # Repetitions 0 and 2 (1.00x and 1.01x) remain at 4 pairs: their median is 1.005x.
        self.assertInSection("| `boost_mq` | 0.50 GiB/s | 0.60 GiB/s | 0.60 GiB/s† | 1.21× | "
                             "0.80† |")
        self.assertInSection("| `memcpy` | skipped | skipped | skipped | — | skipped |")
        gaps = section_of(self.report, "Not measured, skipped and failed")
        self.assertIn("- **loss**: `pairs@4/boost_mq/4 KiB` repetition 1 (2 of 3 succeeded; the "
                      "value is the median of the 2 that did): only 3145728 of 4194304 bytes "
                      "were checked", gaps)
        self.assertIn("- `pairs@1/memcpy/4 KiB` skipped (3 of 3 repetitions): memcpy has no "
                      "second process to pace or to pair", gaps)

    def test_the_section_leads_into_the_worker_pools(self):
        # The crowd sections (crowd.py) stand together: pairs, then pools.
        headings = [line for line in self.report.splitlines() if line.startswith("## ")]
        at = next(i for i, h in enumerate(headings) if h.startswith("## " + HEADING))
        self.assertTrue(headings[at - 1].startswith("## Python, like for like"))
        self.assertTrue(headings[at + 1].startswith("## Worker pools"))


def without_twin(name, data):
    if name == "pipebench.json":
        data["benchmarks"] = [r for r in data["benchmarks"]
                              if not r["name"].startswith("pairs/control_twin/")]


class WithoutATwin(Section):
    """No noise-floor twin among the pairs: the repetitions alone decide a tie, and it says so."""

    edit = staticmethod(without_twin)

    def test_the_ratio_is_not_tested_against_noise(self):
        self.assertInSection("This run has no `control_twin` pairs rows, so the scaling ratios "
                             "were not tested against a noise floor: only their repetitions' "
                             "overlap makes a tie.")
        # The same 1.025x, whose repetitions do not overlap, is now a ratio.
        self.assertInSection("| `tuned_pipe` | 8.00 GiB/s | 8.40 GiB/s | 8.20 GiB/s | 1.02× | ")


class OneRepetitionWithoutATwin(Section):
    """As `./scripts/bench --quick --pairs` would run it: one repetition each, no twin."""

    @classmethod
    def edit(cls, name, data):
        without_twin(name, data)
        rows = [r for r in data["benchmarks"] if r["name"].startswith("pairs/")]
        data["benchmarks"] = [dict(r, repetitions=1) for r in rows if r["repetition_index"] == 0]

    def test_each_ratio_is_one_runs(self):
        self.assertInSection("and with one repetition each, every ratio is one run's")


class Unpinned(Section):

    @classmethod
    def edit(cls, name, data):
        if name == "pipebench.json":
            data["context"]["pipebench_cpus"] = "-1,-1"

    def test_the_processes_are_counted_against_the_cpus(self):
        self.assertInSection("This machine has 2 CPUs and the pairs ran unpinned: *P* pairs are "
                             "2×*P* processes, so the rows at 2 pairs and 4 pairs measure "
                             "oversubscription")


class NotMeasured(RenderedSection):
    """The fixture as it is, without pairs rows: one line says how to measure them."""

    heading = HEADING

    def test_the_section_says_how_to_run_it(self):
        self.assertEqual(self.section.strip().splitlines()[1:],
                         ["", "Not measured in this run: run `./scripts/bench --pairs`, or "
                              "`pipebench --workloads=pairs` (pair counts from `--pairs`, default "
                              "1,2,4)."])

    def test_no_chart(self):
        out = os.path.join(self.tmp, "charts")
        os.makedirs(out)
        self.assertIs(charts.pairs_throughput(self.loaded, out), False)
        self.assertEqual(os.listdir(out), [])


class Plotted(PlottedRun):
    """./scripts/plot on the fixture with the pairs rows: the chart is written and embedded."""

    edit = staticmethod(with_pairs)

    def test_the_chart_is_written_and_embedded(self):
        for ext in (".svg", ".png"):
            self.assertGreater(os.path.getsize(os.path.join(self.run_dir,
                                                            "pairs_throughput" + ext)), 0)
        self.assertIn("[![Many pairs at once: aggregate throughput against the number of pairs]"
                      "(pairs_throughput.png)](pairs_throughput.svg)", self.report)


class Chart(Section):
    """The chart's panels: one per size, a line per transport through its pair counts."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        _drawn, figure = draw_keeping_figure(charts.pairs_throughput, cls.loaded, cls.tmp)
        cls.axes = figure.axes

    def test_panels_and_lines(self):
        self.assertEqual([ax.get_title() for ax in self.axes],
                         ["4 KiB messages", "1 MiB messages"])
        lines = {line.get_label(): line for line in self.axes[0].get_lines()}
        self.assertEqual(sorted(lines), ["boost_mq", "shm_ring", "tuned_pipe", "zmq_ipc"])
        xs, ys = lines["shm_ring"].get_data()
        self.assertEqual(list(xs), [1, 2, 4])
        self.assertEqual([round(y, 2) for y in ys], [3.0, 2.0, 0.9])  # GiB/s

    def test_what_is_not_drawn_is_named(self):
        legend = "\n".join(t.get_text() for t in self.axes[-1].get_legend().get_texts())
        legend = legend.replace("\n  ", " ").replace("\u00a0", " ")
        self.assertIn("memcpy 4 KiB at 1, 2, 4 pairs (skipped)", legend)
        self.assertIn("control_twin 4 KiB, 1 MiB (same code as tuned_pipe)", legend)
        self.assertIn("oversubscribed", legend)


if __name__ == "__main__":
    unittest.main()
