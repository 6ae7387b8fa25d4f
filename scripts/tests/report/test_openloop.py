"""The open-loop section (scripts/report/openloop.py, its chart in charts.py), on the fixture run
with open-loop rows added (fixtures/openloop.json, written by fixtures/make_fixtures.py).

The rows: tuned_pipe, boost_mq, posix_mq and shm_ring at 64 B and 64 KiB, loads 10/50/90% of a
round peak, p50 / p99 / p99.9 in µs. At 64 B: tuned_pipe (peak 1 M/s) 20/80/150, 30/400/900,
200/3000/5000; boost_mq (500 k/s) 50/2000/4000, 900/9000/12000, and at 90% it fell behind
(achieved 270 k/s of 450 k/s); posix_mq (200 k/s) 40/95/150, 60/500/800, 100/1200/2000;
shm_ring (4 M/s) 1/10/40, 2/50/200, 5/90/600. At 64 KiB: tuned_pipe (50 k/s) p99 90, 150, 1500;
boost_mq (20 k/s) p99 300, 700, 2000, with repetition 1 of 50% failed (corruption); posix_mq
skipped; shm_ring (100 k/s) p99 60, 95, 500. Repetitions are SPREAD x the medians.
"""
import json
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "report"))

import charts  # noqa: E402
import openloop  # noqa: E402
import report  # noqa: E402
import results  # noqa: E402
from test_report import (FIXTURES, PlottedRun, RenderedSection, draw_keeping_figure,  # noqa: E402
                         make_run, section_of)

KiB = 1 << 10


def openloop_rows():
    with open(os.path.join(FIXTURES, "openloop.json"), encoding="utf-8") as f:
        return json.load(f)["benchmarks"]


def with_openloop(name, data):
    if name == "pipebench.json":
        data["benchmarks"] += openloop_rows()


class Section(RenderedSection):
    """The fixture with the open-loop rows: `self.section` is the open-loop section."""

    heading = "Open-loop latency"

    @classmethod
    def load_edit(cls, name, data):
        with_openloop(name, data)
        cls.edit(name, data)


class Measured(Section):

    def test_each_load_is_a_benchmark_of_its_own(self):
        run = self.loaded
        self.assertEqual(openloop.loads(run), [10, 50, 90])
        m = run.get(openloop.at(50), "tuned_pipe", 64)
        self.assertEqual((m.n_ok, m.ran), (3, 3))
        self.assertAlmostEqual(m.counters["lat_p99_ns"], 400e3)
        self.assertNotIn(("openloop", "tuned_pipe", 64), run.measurements)

    def test_the_loads_do_not_pool_into_the_header_or_the_other_sections(self):
        # Pooled, the three loads would count as nine repetitions of one benchmark.
        self.assertIn("each value is the median of 3 repetitions", self.report)
        plain = report.render(results.load_run(make_run(self.tmp, "plain")), {})
        for title in ("Verdict", "Winner in each size band", "Large messages", "CPU per GiB"):
            self.assertEqual(section_of(self.report, title), section_of(plain, title), title)

    def test_percentiles_by_load(self):
        self.assertInSection("| transport | peak | 10% of peak | 50% of peak | 90% of peak |")
        self.assertInSection("| `tuned_pipe` | 1.00 M/s | 20.0 µs / 80.0 µs / 150 µs | "
                             "30.0 µs / 400 µs / 900 µs | 200 µs / 3.00 ms / 5.00 ms |")
        self.assertInSection("| `shm_ring` | 100 k/s | 15.0 µs / 60.0 µs / 100 µs | "
                             "20.0 µs / 95.0 µs / 300 µs | 50.0 µs / 500 µs / 900 µs |")

    def test_a_load_the_transport_fell_behind_is_flagged(self):
        self.assertInSection("| `boost_mq` | 500 k/s | 50.0 µs / 2.00 ms / 4.00 ms | "
                             "900 µs / 9.00 ms / 12.0 ms | 50.0 ms / 90.0 ms / 95.0 ms ⚠ |")
        self.assertInSection("⚠ **Fell behind**: achieved under 95% of the rate offered, so "
                             "its queue grew for the whole run")
        self.assertInSection("`boost_mq` 64 B at 90% (270 k/s of 450 k/s).")

    def test_failed_and_skipped_benchmarks_keep_their_load(self):
        self.assertInSection("| `posix_mq` | — | skipped | skipped | skipped |")
        # Repetitions 0 and 2 (1.00x and 1.01x) remain at 50%: their median is 1.005x.
        self.assertInSection("| `boost_mq` | 20.0 k/s | 60.0 µs / 300 µs / 600 µs | "
                             "80.4 µs / 704 µs / 904 µs† |")
        gaps = section_of(self.report, "Not measured, skipped and failed")
        self.assertIn("- **corruption**: `openloop@50%/boost_mq/64 KiB` repetition 1 (2 of 3 "
                      "succeeded; the value is the median of the 2 that did): receiver: message "
                      "17: checksum mismatch (corrupted payload)", gaps)
        self.assertIn("- `openloop@10%/posix_mq/64 KiB` skipped (3 of 3 repetitions)", gaps)

    def test_highest_rate_under_each_budget(self):
        self.assertInSection("| transport | size | p99 < 100 µs | p99 < 1.00 ms |")
        self.assertInSection("| `tuned_pipe` | 64 B | 100 k/s (10%) | 500 k/s (50%) |")
        self.assertInSection("| `shm_ring` | 64 B | 3.60 M/s (90%, the highest load run) | "
                             "3.60 M/s (90%, the highest load run) |")
        self.assertInSection("| `boost_mq` | 64 B | none measured (p99 2.00 ms at 10%) | "
                             "none measured (p99 2.00 ms at 10%) |")
        self.assertInSection("| `posix_mq` | 64 B | 20.0 k/s (10%) | 100 k/s (50%) |")
        self.assertInSection("| `shm_ring` | 64 KiB | 50.0 k/s (50%) | "
                             "90.0 k/s (90%, the highest load run) |")
        self.assertNotIn("| `posix_mq` | 64 KiB |", self.section)

    def test_the_section_follows_the_capacity_lever(self):
        headings = [line for line in self.report.splitlines() if line.startswith("## ")]
        at = next(i for i, h in enumerate(headings) if h.startswith("## Open-loop"))
        self.assertTrue(headings[at - 1].startswith("## The pipe-capacity lever"))
        self.assertEqual(headings[at + 1], "## CPU per GiB")


class NotMeasured(RenderedSection):
    """The fixture as it is, without open-loop rows: one line says how to measure them."""

    heading = "Open-loop latency"

    def test_the_section_says_how_to_run_it(self):
        self.assertEqual(self.section.strip().splitlines()[1:],
                         ["", "Not measured in this run: run `./scripts/bench --openloop`, or "
                              "`pipebench --workloads=openloop` (loads from `--loads`, default "
                              "10,50,90)."])

    def test_no_chart(self):
        out = os.path.join(self.tmp, "charts")
        os.makedirs(out)
        self.assertIs(charts.openloop_latency(self.loaded, out), False)
        self.assertEqual(os.listdir(out), [])


class Plotted(PlottedRun):
    """./scripts/plot on the fixture with the open-loop rows: the chart is written and embedded."""

    edit = staticmethod(with_openloop)

    def test_the_chart_is_written_and_embedded(self):
        for ext in (".svg", ".png"):
            self.assertGreater(os.path.getsize(os.path.join(self.run_dir,
                                                            "openloop_latency" + ext)), 0)
        self.assertIn("[![Open-loop latency against the offered rate](openloop_latency.png)]"
                      "(openloop_latency.svg)", self.report)


class Chart(Section):
    """The chart's panels: a row per percentile, a column per size, a line per transport."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        _drawn, figure = draw_keeping_figure(charts.openloop_latency,
                                             cls.loaded, cls.tmp)
        cls.axes = figure.axes

    def test_panels_and_lines(self):
        titles = [ax.get_title() for ax in self.axes[:6]]
        self.assertEqual(titles, ["p50 at 64 B", "p50 at 64 KiB", "p99 at 64 B", "p99 at 64 KiB",
                                  "p99.9 at 64 B", "p99.9 at 64 KiB"])
        p99_64 = {line.get_label(): line for line in self.axes[2].get_lines()}
        xs, ys = p99_64["tuned_pipe"].get_data()
        self.assertEqual(list(xs), [100e3, 500e3, 900e3])
        self.assertEqual([round(y) for y in ys], [80, 400, 3000])  # µs

    def test_what_is_not_drawn_is_named(self):
        legend = "\n".join(t.get_text() for t in self.axes[1].get_legend().get_texts())
        self.assertIn("posix_mq 64 KiB at 10% (skipped)", legend.replace("\n  ", " "))


if __name__ == "__main__":
    unittest.main()


class ScaledBenchmarkNames(unittest.TestCase):
    """results.parse_name keeps each scale of a workload apart: an open-loop load, a pair count,
    a worker count."""

    def test_a_load_and_a_pair_count_name_their_own_workload(self):
        self.assertEqual(results.parse_name("openloop/tuned_pipe/bytes:64/load:50/manual_time"),
                         ("openloop@50%", "tuned_pipe", 64))
        self.assertEqual(results.parse_name("pairs/shm_ring/bytes:4096/pairs:4/manual_time"),
                         ("pairs@4", "shm_ring", 4096))
        self.assertEqual(results.parse_name("throughput/tuned_pipe/bytes:64/manual_time"),
                         ("throughput", "tuned_pipe", 64))
        self.assertEqual(openloop.load_of(results.parse_name(
            "openloop/shm_ring/bytes:64/load:90")[0]), 90)

    def test_a_worker_count_names_its_own_workload(self):
        # fanout/fanin rows at W = 1, 2, 4 would otherwise merge into one measurement.
        self.assertEqual(results.parse_name("fanout/py_pool/bytes:64/workers:2/manual_time"),
                         ("fanout@2", "py_pool", 64))
        self.assertEqual(results.parse_name("fanin/tuned_pipe/bytes:4096/workers:4"),
                         ("fanin@4", "tuned_pipe", 4096))

    def test_a_scale_the_report_does_not_know_is_left_out(self):
        for name in ("fanout/py_pool/bytes:64/threads:2/manual_time",
                     "pairs/tuned_pipe/bytes:4096/pairs:2/hops:4"):
            self.assertIsNone(results.parse_name(name), name)
