"""The report's large-message section (scripts/report/large_messages.py), on the fixture run and
edits of it: every transport as a multiple of memcpy, the copy tiers from the catalogue, each
tier's best against the pipes, and the noise floor's ties. The section is rendered straight
from the loaded run (no charts, so no matplotlib needed).

At 1 MiB, the fixture's only large size, the medians are (GiB/s): memcpy 16, tuned_pipe 8
(repetitions 7.8, 8 and 9.5), tuned_pipe_loan 12, shm_ring 10, socketpair 5; the rest of the
repetitions are 0.99x, 1x and 1.01x their median, and control_twin sets a noise floor of 1.05x.
"""
import json
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "report"))

import large_messages as lm  # noqa: E402
import transports as tp  # noqa: E402
from test_report import RenderedSection, scale_rows  # noqa: E402

MiB = 1 << 20
GiB = float(1 << 30)


def add_transport(data, like, new_id, gib_s, size=MiB):
    """Adds throughput rows for `new_id` at `size`: `like`'s rows, renamed and rescaled so that
    their median is `gib_s` (the repetitions keep `like`'s spread)."""
    prefix = f"throughput/{like}/bytes:{size}/"
    rows = [b for b in data["benchmarks"]
            if b["name"].startswith(prefix) and b.get("run_type") == "iteration"]
    median = sorted(b["bytes_per_second"] for b in rows)[len(rows) // 2]
    for b in rows:
        copy = json.loads(json.dumps(b).replace(f"/{like}/", f"/{new_id}/"))
        copy["bytes_per_second"] *= gib_s * GiB / median
        data["benchmarks"].append(copy)


class Section(RenderedSection):
    """The fixture, changed by `edit`, loaded once per class: `self.section` is the large-message
    section as it stands in the rendered report."""

    heading = "Large messages"

    def rows(self):
        """{transport: [tier, cell at each size]} from the section's table."""
        out = {}
        for line in self.section.splitlines():
            if line.startswith("| `"):
                cells = [c.strip() for c in line.strip("|").split("|")]
                out[cells[0].split("`")[1]] = cells[1:]
        return out


class FullFixture(Section):

    def test_fractions_of_memcpy_at_each_large_size(self):
        self.assertInSection("| transport | copies | 1 MiB |")
        self.assertInSection("| `memcpy` (1×) | — | 16.0 GiB/s |")
        # By hand: 8 ÷ 16 = 0.5 and 10 ÷ 16 = 0.625 (written 0.62×, as units.fmt_ratio rounds).
        self.assertInSection("| `tuned_pipe` | two copies | 0.50× |")
        self.assertInSection("| `shm_ring` | two copies | 0.62× |")
        self.assertInSection("| `tuned_pipe_loan` | one copy | 0.75× |")

    def test_absent_and_marked_cells_follow_the_report(self):
        self.assertInSection("| `posix_mq` | two copies | skipped |")  # cannot carry 1 MiB
        self.assertInSection("| `tuned_pipe_built` | two copies | 0.38×† |")  # 2 of 3 succeeded
        self.assertInSection("| `tuned_pipe_batch` | two copies | 0.50×‡ |")  # tuned_pipe's code

    def test_tiers_come_from_the_catalogue(self):
        rows = self.rows()
        self.assertEqual(set(rows), set(self.loaded.transports("throughput")))
        for t, cells in rows.items():
            tier = tp.copy_tier(t)
            self.assertEqual(cells[0], "—" if tier is None else tier, t)
        self.assertEqual(rows["py_shared_memory"][0], tp.ONE_COPY)
        self.assertEqual(rows["control_twin"][0], "—")
        for tier, what in tp.COPY_TIERS.items():
            self.assertInSection(f"- **{tier}**: {what}.")

    def test_rows_are_grouped_by_tier(self):
        order = [tp.copy_tier(t) for t in self.rows() if t != tp.roles.yardstick]
        rank = [tp.TWO_COPIES, tp.ONE_COPY, tp.ZERO_COPY, tp.UNCLASSIFIED, None]
        self.assertEqual(order, sorted(order, key=rank.index))

    def test_each_tiers_best_and_the_pipes_against_it(self):
        # 8 ÷ 10 = 0.80, 8 ÷ 12 = 0.67, 12 ÷ 10 = 1.20; the Python rows are not ranked (
        # py_shared_memory's 16 GiB/s is not the one-copy best).
        self.assertInSection("- **1 MiB**: best with two copies `shm_ring` (10.0 GiB/s); with "
                             "one copy `tuned_pipe_loan` (12.0 GiB/s). `tuned_pipe` moves 0.80× "
                             "what `shm_ring` moves (two copies) and moves 0.67× what "
                             "`tuned_pipe_loan` moves (one copy); `tuned_pipe_loan` moves 1.20× "
                             "what `shm_ring` moves (two copies) and is the best of its tier "
                             "(one copy).")
        self.assertInSection("No C++ transport of the tier *zero copy beyond building* was "
                             "measured in this run.")

    def test_the_section_follows_the_fractions_and_precedes_the_capacity_lever(self):
        headings = [line for line in self.report.splitlines() if line.startswith("## ")]
        at = next(i for i, h in enumerate(headings) if h.startswith("## Large messages"))
        self.assertTrue(headings[at - 1].startswith("## Pipes against shared memory"))
        self.assertTrue(headings[at + 1].startswith("## The pipe-capacity lever"))


class GapInsideTheNoiseFloor(Section):
    """cma added at 1 MiB at 12.5 GiB/s, against tuned_pipe_loan's 12.0: a gap of 1.04x, under
    the 1.05x floor, while their repetitions (±1%) do not overlap. The floor makes it a tie."""

    @classmethod
    def edit(cls, name, data):
        if name == "pipebench.json":
            add_transport(data, "tuned_pipe_loan", "cma", 12.5)

    def test_who_is_the_one_copy_best(self):
        self.assertInSection("with one copy tie: `cma` (12.5 GiB/s), `tuned_pipe_loan` "
                             "(12.0 GiB/s).")
        self.assertInSection("`tuned_pipe_loan` moves 1.20× what `shm_ring` moves (two copies) "
                             "and is in the tie for the best of its tier (one copy: `cma`, "
                             "`tuned_pipe_loan`).")
        self.assertNotIn("0.96×", self.section)

    def test_the_lead_is_held_against_the_top_of_the_tie(self):
        self.assertInSection("moves 0.64× what `cma` moves (one copy)")  # 8 ÷ 12.5

    def test_cma_is_in_the_one_copy_tier(self):
        self.assertEqual(self.rows()["cma"][0], tp.ONE_COPY)
        self.assertEqual(self.rows()["cma"][1], "0.78×")  # 12.5 ÷ 16


class SameGapWithoutANoiseFloor(GapInsideTheNoiseFloor):
    """The same gap in a run without control_twin: the repetitions alone decide, and they do
    not overlap, so cma is the one-copy best and the loan is behind it."""

    @classmethod
    def edit(cls, name, data):
        super().edit(name, data)
        data["benchmarks"] = [b for b in data["benchmarks"] if "/control_twin/" not in b["name"]]

    def test_who_is_the_one_copy_best(self):
        self.assertInSection("with one copy `cma` (12.5 GiB/s).")
        self.assertInSection("`tuned_pipe_loan` moves 1.20× what `shm_ring` moves (two copies) "
                             "and moves 0.96× what `cma` moves (one copy).")


class LevelWithAnotherTiersBest(Section):
    """tuned_pipe_loan at 1 MiB brought to 8.2 GiB/s, within tuned_pipe's spread (7.8 to 9.5):
    the lead is level with the one-copy best, not behind or ahead of it."""

    @classmethod
    def edit(cls, name, data):
        if name == "pipebench.json":
            scale_rows(data, "throughput/tuned_pipe_loan/bytes:1048576/", 8.2 / 12)

    def test_a_tie_is_said_as_one(self):
        self.assertInSection("`tuned_pipe` moves 0.80× what `shm_ring` moves (two copies) and is "
                             "level with `tuned_pipe_loan` (one copy; a tie)")


class TransportWithoutATier(Section):
    """A transport the catalogue does not know, the fastest of all at 1 MiB: its tier is
    unknown, it keeps its row, and it is named best of no tier."""

    NEW = "uring_ring"

    @classmethod
    def edit(cls, name, data):
        if name == "pipebench.json":
            add_transport(data, "socketpair", cls.NEW, 20.0)

    def test_it_shows_unknown_and_keeps_its_row(self):
        self.assertNotIn(self.NEW, tp.known_ids())
        self.assertEqual(tp.copy_tier(self.NEW), tp.UNCLASSIFIED)
        self.assertInSection(f"| `{self.NEW}` | unknown | 1.25× |")  # 20 ÷ 16

    def test_it_is_not_ranked_in_a_tier(self):
        self.assertInSection(f"Not ranked, their tier being unknown: `{self.NEW}`.")
        bullet = next(line for line in self.section.splitlines() if line.startswith("- **1 MiB"))
        self.assertNotIn(self.NEW, bullet)


class NoLargeSizes(Section):
    """Every 1 MiB row removed: the section is its heading and one line."""

    @classmethod
    def edit(cls, name, data):
        data["benchmarks"] = [b for b in data["benchmarks"] if "/bytes:1048576" not in b["name"]]

    def test_one_line_says_so(self):
        self.assertEqual(self.section.strip().splitlines()[1:],
                         ["", "No throughput size from 1 MiB to 64 MiB was measured in this run "
                          "(the largest is 64 KiB)."])
        self.assertEqual(lm.large_sizes(self.loaded), [])


class NoYardstick(Section):
    """No memcpy rows: no multiple of it, so the table gives GiB/s and says why."""

    @classmethod
    def edit(cls, name, data):
        data["benchmarks"] = [b for b in data["benchmarks"] if "/memcpy/" not in b["name"]]

    def test_throughput_instead_of_a_multiple(self):
        self.assertInSection("`memcpy` was not measured in this run, so there is no multiple of "
                             "it")
        self.assertInSection("| `tuned_pipe` | two copies | 8.00 |")
        self.assertNotIn("×", "\n".join(line for line in self.section.splitlines()
                                        if line.startswith("|")))


if __name__ == "__main__":
    unittest.main()
