"""The local-against-remote section (scripts/report/remote.py, its chart in charts.py), on the
fixture run with fixtures/remote.json beside it, as `./scripts/bench --remote-peer=HOST:PORT`
leaves it (written by fixtures/make_fixtures.py).

Locally (pipebench.json) zmq_tcp ran 0.3, 1.5 and 1.5 GiB/s and a median round trip of 70, 100
(one repetition of three) and 1000 µs at 64 B, 64 KiB and 1 MiB; tcp was not measured. With the
follower on the peer host (remote.json, peer 10.0.0.2:7878, "peerbox", Intel Xeon, 4 cores,
Linux 6.12.0) zmq_tcp ran 0.03, 0.3 and 0.6 GiB/s and 300, 700 and 9000 µs; tcp 0.05, 0.5 and
1.0 GiB/s and 250 and 600 µs, its latency at 1 MiB stalled in every repetition.
"""
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "report"))

import charts  # noqa: E402
import remote  # noqa: E402
from test_report import PlottedRun, RenderedSection  # noqa: E402

KiB, MiB, GiB = 1 << 10, 1 << 20, float(1 << 30)
HEADING = "Local against remote"
WITH_REMOTE = ("pipebench.json", "python.json", "remote.json")


class Section(RenderedSection):
    """The fixture with remote.json beside it: `self.section` is the local-against-remote
    section."""

    heading = HEADING
    files = WITH_REMOTE


class Measured(Section):

    def test_remote_rows_are_a_run_of_their_own(self):
        run = self.loaded
        # Same names in both files: the local value stays the local one.
        self.assertAlmostEqual(run.value("throughput", "zmq_tcp", 64, "bytes_per_second"),
                               0.3 * GiB)
        self.assertAlmostEqual(run.remote.value("throughput", "zmq_tcp", 64, "bytes_per_second"),
                               0.03 * GiB)
        self.assertIsNone(run.get("throughput", "tcp", 64))
        self.assertEqual(run.files, ["pipebench.json", "python.json"])
        self.assertEqual(remote.transports(run), ["tcp", "zmq_tcp"])

    def test_the_path_and_both_hosts(self):
        self.assertInSection("through `pipebench-peer` at `10.0.0.2:7878` (remote.json)")
        self.assertInSection("|  | this host (leader) | peer host (follower) |")
        self.assertInSection("| name | fixture | peerbox |")
        self.assertInSection("| CPU | AMD EPYC | Intel Xeon |")
        self.assertInSection("| cores | 2 | 4 |")
        self.assertInSection("| kernel | Linux 6.1.0 x86_64 | Linux 6.12.0 x86_64 |")
        self.assertNotIn("same name", self.section)

    def test_throughput_and_round_trip_side_by_side(self):
        self.assertInSection("| size | throughput, local | remote | remote ÷ local | "
                             "median round trip, local | remote | remote ÷ local |")
        self.assertInSection("| 64 B | 0.30 GiB/s | 0.030 GiB/s | 0.10× | 70.0 µs | 300 µs | "
                             "4.29× |")
        self.assertInSection("| 64 KiB | 1.50 GiB/s | 0.30 GiB/s | 0.20× | 100 µs† | 700 µs | "
                             "7.00× |")
        self.assertInSection("| 1 MiB | 1.50 GiB/s | 0.60 GiB/s | 0.40× | 1.00 ms | 9.00 ms | "
                             "9.00× |")

    def test_what_the_path_cost(self):
        self.assertInSection("`zmq_tcp`: at 1 MiB it moved 0.60 GiB/s with the follower remote "
                             "against 1.50 GiB/s here (0.40×); at 64 B the path added 230 µs to "
                             "the median round trip (300 µs against 70.0 µs).")

    def test_a_transport_not_measured_here_and_a_failed_remote_row(self):
        self.assertInSection("| 64 B | — | 0.050 GiB/s | — | — | 250 µs | — |")
        self.assertInSection("| 1 MiB | — | 1.00 GiB/s | — | — | error | — |")
        self.assertInSection("`tcp` has no size with a value both here and remote.")
        self.assertInSection("Remote benchmarks without a value: `latency/tcp/1 MiB` failed: "
                             "stalled: no progress for 5000 ms (remote follower at message 3).")
        # The remote failure is the section's to list, not the local run's.
        self.assertNotIn("remote follower", self.report.replace(self.section, ""))


class OnOneMachine(Section):
    """The namespace test's case: the peer reports this host's name."""

    @classmethod
    def edit(cls, name, data):
        if name == "remote.json":
            data["context"]["peer_host_name"] = data["context"]["host_name"]

    def test_the_path_may_be_virtual(self):
        self.assertInSection("Both hosts report the same name: the peer may be this machine")


class NotMeasured(RenderedSection):
    """The fixture as it is, without remote.json: the section says how to make one."""

    heading = HEADING

    def test_the_section_says_how_to_run_it(self):
        self.assertInSection("Not measured in this run (no remote.json): start "
                             "`./build/harness/pipebench-peer --listen=0.0.0.0:7878` on the other "
                             "host, then run `./scripts/bench --remote-peer=HOST:7878` here.")

    def test_no_chart(self):
        out = os.path.join(self.tmp, "charts")
        os.makedirs(out)
        self.assertIs(charts.remote_vs_local(self.loaded, out), False)
        self.assertEqual(os.listdir(out), [])


class Plotted(PlottedRun):
    """./scripts/plot on a run with remote.json: the chart is written and embedded."""

    files = WITH_REMOTE

    def test_the_chart_is_written_and_embedded(self):
        for ext in (".svg", ".png"):
            self.assertGreater(os.path.getsize(os.path.join(self.run_dir,
                                                            "remote_vs_local" + ext)), 0)
        self.assertIn("(remote_vs_local.png)](remote_vs_local.svg)", self.report)

    def test_the_section_leads_into_the_machine(self):
        headings = [line for line in self.report.splitlines() if line.startswith("## ")]
        at = next(i for i, h in enumerate(headings) if h.startswith("## " + HEADING))
        self.assertTrue(headings[at + 1].startswith("## Where the answer depends on the machine"))


if __name__ == "__main__":
    unittest.main()
