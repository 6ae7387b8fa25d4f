"""The pipe-capacity lever (scripts/report/capacity.py, its chart in charts.py), on the fixture
run with the capacity study's rows added (fixtures/capacity.json, written by
fixtures/make_fixtures.py) and edits of it.

The study's fixture is an unprivileged run on a host whose pipe-max-size is 1 MiB: the rows that
asked 4, 16 and 64 MiB got 1 MiB. Throughput (GiB/s) by capacity got, at 64 KiB / 1 MiB / 16 MiB
messages: send_bytes 64 KiB 2 / 2 / 2, 256 KiB 3.9 / 4 / 5, 1 MiB 4 / 8 / 10 (the four rows that
got 1 MiB pool to these medians); loans 64 KiB 3 / 3 / 3, 256 KiB 5 / 6 / 6, 1 MiB 5 / 12 / 12.
The defaults (tuned_pipe, tuned_pipe_loan at 1 MiB) are 4 and 5 GiB/s at 64 KiB, 8 and 12 at
1 MiB, and were not measured at 16 MiB. Repetitions are ±1% of their medians, and control_twin
sets a noise floor of 1.05×.
"""
import json
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "report"))

import analysis as an  # noqa: E402
import capacity as cp  # noqa: E402
import charts  # noqa: E402
import large_messages as lm  # noqa: E402
import transports as tp  # noqa: E402
from test_report import (FIXTURES, RenderedSection, draw_keeping_figure, scale_rows,  # noqa: E402
                         section_of)

KiB, MiB = 1 << 10, 1 << 20
LEAD, LOAN = tp.roles.lead, tp.roles.loan


def capacity_rows():
    with open(os.path.join(FIXTURES, "capacity.json"), encoding="utf-8") as f:
        return json.load(f)["benchmarks"]


class Section(RenderedSection):
    """The fixture with the study's rows, changed by `edit`, loaded once per class:
    `self.section` is the capacity section as it stands in the rendered report."""

    heading = "The pipe-capacity lever"

    @classmethod
    def load_edit(cls, name, data):
        """The study's rows are added first; `edit` then changes the file."""
        if name == "pipebench.json":
            data["benchmarks"] += capacity_rows()
        cls.edit(name, data)

    def point(self, variant, size, capacity):
        return next(p for p in cp.points(self.loaded)
                    if (p.variant, p.size, p.capacity) == (variant, size, capacity))


class Unprivileged(Section):

    def test_a_row_stands_at_the_capacity_it_got_and_is_flagged(self):
        # The cap16m rows asked 16 MiB and got 1 MiB: they are in the 1 MiB point, marked ↓.
        self.assertEqual({p.capacity for p in cp.points(self.loaded)},
                         {64 * KiB, 256 * KiB, MiB})
        at_1m = self.point(LEAD, MiB, MiB)
        self.assertIn(f"{LEAD}_cap16m", at_1m.rows)
        self.assertEqual(at_1m.refused, tuple(f"{LEAD}_cap{n}m" for n in (4, 16, 64)))
        self.assertInSection("| message \\ capacity got | 64 KiB | 256 KiB | 1 MiB | "
                             "`tuned_pipe` (default) |")
        self.assertInSection("↓ 1 MiB holds rows that asked for more: `tuned_pipe_cap4m`, "
                             "`tuned_pipe_cap16m`, `tuned_pipe_cap64m` asked 4 MiB, 16 MiB and "
                             "64 MiB and got 1 MiB")
        for header in (line for line in self.section.splitlines() if line.startswith("| message")):
            self.assertNotIn("16 MiB", header)

    def test_rows_that_got_the_same_capacity_are_one_point(self):
        # 8.0, 8.0, 8.2 and 7.8 GiB/s at ±1%, twelve repetitions: the median is 8.00.
        at_1m = self.point(LEAD, MiB, MiB)
        self.assertEqual(at_1m.rows, tuple(f"{LEAD}_cap{n}m" for n in (1, 4, 16, 64)))
        self.assertEqual(len(at_1m.samples), 12)
        self.assertAlmostEqual(at_1m.value, 8.0)

    def test_gain_over_the_default_capacity(self):
        # 64 KiB messages: 2 ÷ 4 = 0.50×; 3.9 ÷ 4 is inside the floor (a tie); 1 MiB messages:
        # 2 ÷ 8 = 0.25×, 4 ÷ 8 = 0.50×; 16 MiB: no default to hold them against.
        self.assertInSection("| 64 KiB | 2.00 GiB/s (0.50×) | 3.90 GiB/s (tie) | "
                             "4.00 GiB/s↓ (tie) | 4.00 GiB/s at 1 MiB |")
        self.assertInSection("| 1 MiB | 2.00 GiB/s (0.25×) | 4.00 GiB/s (0.50×) | "
                             "8.00 GiB/s↓ (tie) | 8.00 GiB/s at 1 MiB |")
        self.assertInSection("| 16 MiB | 2.00 GiB/s | 5.00 GiB/s | 10.0 GiB/s↓ | not measured "
                             "in this run |")
        # The loan is held against the loan: 3 ÷ 5 = 0.60×, 3 ÷ 12 = 0.25×.
        self.assertInSection("| 64 KiB | 3.00 GiB/s (0.60×) | 5.00 GiB/s (tie) | "
                             "5.00 GiB/s↓ (tie) | 5.00 GiB/s at 1 MiB |")
        self.assertInSection("| 1 MiB | 3.00 GiB/s (0.25×) | 6.00 GiB/s (0.50×) | "
                             "12.0 GiB/s↓ (tie) | 12.0 GiB/s at 1 MiB |")

    def test_a_gap_inside_the_noise_floor_is_no_gain(self):
        # 4.0 against 3.9 at 64 KiB: 1.03×, under the 1.05× floor, though the repetitions
        # (±1%) do not overlap. So 256 KiB is where a bigger pipe stops paying.
        a, b = self.point(LEAD, 64 * KiB, MiB), self.point(LEAD, 64 * KiB, 256 * KiB)
        self.assertLess(max(b.samples), min(a.samples))
        self.assertTrue(an.compare_samples(self.loaded, an.THROUGHPUT, a.samples,
                                           b.samples).tie)
        self.assertInSection("- send_bytes (`tuned_pipe_cap*`), 64 KiB messages: **256 KiB** "
                             "(3.90 GiB/s); larger capacities gain nothing: 1 MiB 4.00 GiB/s "
                             "(a tie). 256 pipes of 256 KiB fill the 64 MiB budget.")

    def test_still_gaining_at_the_largest_capacity_got(self):
        self.assertInSection("- send_bytes (`tuned_pipe_cap*`), 1 MiB messages: still gaining "
                             "at **1 MiB**, the largest capacity got (8.00 GiB/s, 2.00× 256 "
                             "KiB's): where it stops lies beyond what this run got. 64 pipes of "
                             "1 MiB fill the 64 MiB budget.")

    def test_the_run_could_not_raise_capacity(self):
        self.assertInSection("**This run could not raise a pipe above pipe-max-size (1 MiB).** "
                             "Every request above it (4 MiB, 16 MiB and 64 MiB) got 1 MiB: the "
                             "run was not privileged (not root, no CAP_SYS_RESOURCE), so those "
                             "rows show the library's fallback, not the lever.")

    def test_costs_are_computed_from_the_hosts_budget(self):
        # 16384 pages of 4 KiB = 64 MiB: 4 pipes of 16 MiB, one of 64 MiB; the staging ring is
        # at least twice the capacity.
        self.assertEqual(cp.budget_bytes(self.loaded), 64 * MiB)
        self.assertEqual(cp.pipes_within(64 * MiB, 16 * MiB), 4)
        self.assertInSection("`pipe-user-pages-soft` = 16384 pages (this run's host), 64 MiB "
                             "with 4 KiB pages")
        self.assertInSection("| 64 KiB | 64 KiB | 128 KiB | 1024 | got |")
        self.assertInSection("| 16 MiB | 16 MiB | 32 MiB | 4 | asked, not got |")
        self.assertInSection("| 64 MiB | 64 MiB | 128 MiB | 1 | asked, not got |")

    def test_the_study_is_no_contender(self):
        study = set(tp.capacity_ids())
        self.assertFalse(study & set(an.contenders(self.loaded)))
        for title in ("## Verdict", "## Winner in each size band", "## What each pipe lever",
                      "## Pipes against shared memory", "## Large messages", "## CPU per GiB"):
            text = section_of(self.report, title[len("## "):])
            self.assertFalse([t for t in study if f"`{t}`" in text], title)
        # 16 MiB, where only the study was measured, is no column of the large-message table.
        self.assertEqual(lm.large_sizes(self.loaded), [MiB])

    def test_gaps_do_not_list_the_studys_sizes_or_ids(self):
        gaps = section_of(self.report, "Not measured, skipped and failed")
        self.assertNotIn("16 MiB", gaps)  # the others were not meant to run at 16 MiB
        self.assertNotIn("at 64 B", gaps)  # nor the study at 64 B
        self.assertNotIn("pipe-capacity study", gaps)

    def test_the_section_follows_large_messages(self):
        headings = [line for line in self.report.splitlines() if line.startswith("## ")]
        at = next(i for i, h in enumerate(headings) if h.startswith("## The pipe-capacity"))
        self.assertTrue(headings[at - 1].startswith("## Large messages"))
        self.assertTrue(headings[at + 1].startswith("## Open-loop latency"))


class FastestOfAll(Section):
    """tuned_pipe_loan_cap1m at 1 MiB made four times as fast (48 GiB/s, three times memcpy):
    it is the loan again, so no winner, tier, verdict or yardstick sentence may name it."""

    FAST = f"{LOAN}_cap1m"

    @classmethod
    def edit(cls, name, data):
        if name == "pipebench.json":
            scale_rows(data, f"throughput/{cls.FAST}/bytes:{MiB}/", 4.0)

    def test_it_wins_nothing(self):
        self.assertIn("| large (≥ 256 KiB) | 1 MiB | `tuned_pipe_loan` 12.0 GiB/s | `shm_ring` "
                      "10.0 GiB/s | 1.20× |", self.report)
        self.assertIn("The best pipe figure in this run is `tuned_pipe_loan` at 1 MiB: "
                      "12.0 GiB/s", self.report)
        self.assertIn("- **1 MiB**: best with two copies `shm_ring` (10.0 GiB/s); with one copy "
                      "`tuned_pipe_loan` (12.0 GiB/s).", self.report)
        outside = self.report.replace(self.section, "")
        start = outside.index("## The transports as this run configured them")
        self.assertNotIn(f"`{self.FAST}`", outside[:start])  # only its label and appendix row

    def test_it_is_in_its_own_section(self):
        # Pooled with the three rows that got 1 MiB too: 3 repetitions at ~48 and 9 at 11.88,
        # 12 and 12.12; the median of the twelve is between the 6th and 7th: (12 + 12.12) / 2.
        self.assertAlmostEqual(self.point(LOAN, MiB, MiB).value, 12.06)
        self.assertIn(f"| `{self.FAST}` | capacity | — | 5.00 | 48.0 | 12.0 |",
                      self.report)  # the appendix keeps its own figure


class WithoutANoiseFloor(Section):
    """No control_twin: the repetitions alone decide, and 4.0 against 3.9 at 64 KiB does not
    overlap, so the 1 MiB pipe now gains over the 256 KiB one."""

    @classmethod
    def edit(cls, name, data):
        data["benchmarks"] = [b for b in data["benchmarks"] if "/control_twin/" not in b["name"]]

    def test_the_same_gap_is_a_gain(self):
        self.assertInSection("- send_bytes (`tuned_pipe_cap*`), 64 KiB messages: still gaining "
                             "at **1 MiB**, the largest capacity got (4.00 GiB/s, 1.03× 256 "
                             "KiB's)")


class Privileged(Section):
    """Every row got what it asked (a run with CAP_SYS_RESOURCE); at 16 MiB messages the 4, 16
    and 64 MiB pipes run at 12 GiB/s against 1 MiB's 10."""

    @classmethod
    def edit(cls, name, data):
        if name != "pipebench.json":
            return
        data["context"]["cap_sys_resource"] = "yes"
        for b in data["benchmarks"]:
            request = tp.capacity_request(b["name"].split("/")[1])
            if request is not None:
                b["pipe_capacity"] = request.requested
        for n in (4, 16, 64):
            scale_rows(data, f"throughput/{LEAD}_cap{n}m/bytes:{16 * MiB}/", 1.2)

    def test_every_capacity_stands_where_it_was_asked(self):
        self.assertInSection("| message \\ capacity got | 64 KiB | 256 KiB | 1 MiB | 4 MiB | "
                             "16 MiB | 64 MiB | `tuned_pipe` (default) |")
        self.assertNotIn("↓", self.section)
        self.assertInSection("**This run could raise pipes above pipe-max-size (1 MiB)** (root "
                             "or CAP_SYS_RESOURCE): every request above it got what it asked, up "
                             "to 64 MiB. The harness recorded CAP_SYS_RESOURCE: yes.")
        self.assertInSection("| 16 MiB | 16 MiB | 32 MiB | 4 | got |")

    def test_nothing_more_gained_beyond_the_plateau(self):
        # 1 MiB messages: 8.2 and 7.8 against 8.0 are inside the floor.
        self.assertInSection("- send_bytes (`tuned_pipe_cap*`), 1 MiB messages: **1 MiB** "
                             "(8.00 GiB/s); larger capacities gain nothing: 4 MiB 8.00 GiB/s "
                             "(a tie), 16 MiB 8.20 GiB/s (a tie), 64 MiB 7.80 GiB/s (a tie).")
        # 16 MiB messages: 12 against 10 is a gain; beyond 4 MiB none.
        self.assertInSection("- send_bytes (`tuned_pipe_cap*`), 16 MiB messages: **4 MiB** "
                             "(12.0 GiB/s); larger capacities gain nothing: 16 MiB 12.0 GiB/s "
                             "(a tie), 64 MiB 12.0 GiB/s (a tie). 16 pipes of 4 MiB fill the "
                             "64 MiB budget.")


class HostLimitsNotRecorded(Section):
    """The context without pipe-max-size and pipe-user-pages-soft, and the 64 KiB send_bytes
    pipe failing at 16 MiB: the kernel defaults are used and said to be defaults, and the
    failure is named, not drawn."""

    ERROR = "receiver: message 3: checksum mismatch (corrupted payload)"

    @classmethod
    def edit(cls, name, data):
        for fact in ("host_pipe_max_size", "host_pipe_user_pages_soft"):
            del data["context"][fact]  # python.json's would fill the gap
        for b in data["benchmarks"]:
            if b["name"].startswith(f"throughput/{LEAD}_cap64k/bytes:{16 * MiB}/"):
                b.update(error_occurred=True, error_message=cls.ERROR)

    def test_the_kernel_defaults_are_said_to_be_defaults(self):
        self.assertInSection("pipe-max-size (1 MiB, the kernel default: the run did not record "
                             "its own)")
        self.assertInSection("`pipe-user-pages-soft` = 16384 pages (the kernel default: this run "
                             "did not record its host's), 64 MiB with 4 KiB pages")

    def test_a_failed_row_is_named_not_placed(self):
        self.assertInSection(f"Not in the table: `{LEAD}_cap64k` at 16 MiB (failed: "
                             f"{self.ERROR}).")
        self.assertInSection("| 16 MiB | — | 5.00 GiB/s | 10.0 GiB/s↓ |")


class EveryRowFailed(Section):
    """Every repetition of the study failed: the section says so and places nothing."""

    @classmethod
    def edit(cls, name, data):
        for b in data["benchmarks"]:
            if tp.capacity_request(b["name"].split("/")[1]) is not None:
                b.update(error_occurred=True, error_message="stalled: no progress for 5000 ms")

    def test_nothing_is_placed(self):
        self.assertEqual(cp.points(self.loaded), [])
        self.assertInSection("No row of the study has a figure in this run, so it does not show "
                             "whether the run could raise a pipe's capacity.")
        self.assertInSection("**send_bytes (`tuned_pipe_cap*`)**: no figure in this run.")
        self.assertNotIn("Where a bigger pipe stops paying", self.section)
        self.assertInSection("Not in the table: `tuned_pipe_cap64k` at 64 KiB (failed: stalled: "
                             "no progress for 5000 ms)")


class SmallerBudget(Section):
    """pipe-user-pages-soft halved to 8192 pages: a 32 MiB budget holds 2 pipes of 16 MiB."""

    @classmethod
    def edit(cls, name, data):
        data["context"]["host_pipe_user_pages_soft"] = "8192"

    def test_the_pipes_that_fit(self):
        self.assertEqual(cp.budget_bytes(self.loaded), 32 * MiB)
        self.assertInSection("| 16 MiB | 16 MiB | 32 MiB | 2 | asked, not got |")
        self.assertInSection("| 64 MiB | 64 MiB | 128 MiB | 0 | asked, not got |")


class NoStudy(RenderedSection):
    """The fixture as it is: no row of the study."""

    heading = "The pipe-capacity lever"

    def test_the_section_is_one_line(self):
        self.assertEqual(self.section.strip().splitlines()[1:],
                         ["", "This run did not measure the pipe at fixed capacities "
                              "(`tuned_pipe_cap*`, `tuned_pipe_loan_cap*`)."])
        self.assertIn("- The pipe-capacity study (`tuned_pipe_cap*`, `tuned_pipe_loan_cap*`) "
                      "was not measured in this run.", self.report)
        self.assertNotIn("_cap64k", self.report)

    def test_no_chart(self):
        out = os.path.join(self.tmp, "charts")
        os.makedirs(out)
        self.assertIs(charts.pipe_capacity(self.loaded, out), False)
        self.assertEqual(os.listdir(out), [])


class Chart(Section):
    """The chart of the unprivileged study, its figure kept for inspection."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.drawn, figure = draw_keeping_figure(charts.pipe_capacity, cls.loaded, cls.tmp)
        cls.axes = figure.axes

    def test_it_is_written(self):
        self.assertIs(self.drawn, True)
        for ext in (".svg", ".png"):
            self.assertGreater(os.path.getsize(os.path.join(self.tmp, "pipe_capacity" + ext)), 0)

    def test_it_is_deterministic(self):
        again = os.path.join(self.tmp, "again")
        os.makedirs(again)
        charts.pipe_capacity(self.loaded, again)
        for ext in (".svg", ".png"):
            with open(os.path.join(self.tmp, "pipe_capacity" + ext), "rb") as a, \
                    open(os.path.join(again, "pipe_capacity" + ext), "rb") as b:
                self.assertEqual(a.read(), b.read(), ext)

    def test_points_stand_at_the_capacity_got(self):
        send, loans = self.axes[:2]
        self.assertIn(LEAD, send.get_title())
        self.assertIn(LOAN, loans.get_title())
        lines = {line.get_label(): line for line in send.get_lines()}
        self.assertEqual(sorted(lines["1 MiB messages"].get_xdata()),
                         [64 * KiB, 256 * KiB, MiB])
        self.assertEqual(list(lines["1 MiB messages"].get_ydata()), [2.0, 4.0, 8.0])
        drawn_at = {x for line in send.get_lines() for x in line.get_xdata()}
        self.assertNotIn(16 * MiB, drawn_at)  # nothing stands where cap16m asked

    def test_the_legend_claims_only_what_the_pipe_had(self):
        legend = [t.get_text() for t in self.axes[0].get_legend().get_texts()]
        note = " ".join(next(t for t in legend if "got" in t).split())  # unwrapped
        self.assertIn(f"{LEAD}_cap16m", note)
        self.assertIn("asked 4 MiB, 16 MiB, 64 MiB and got 1 MiB: drawn at 1 MiB", note)
        self.assertIn("pipe-max-size, 1 MiB", legend)


if __name__ == "__main__":
    unittest.main()
