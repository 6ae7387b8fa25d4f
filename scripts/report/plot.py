#!/usr/bin/env python3
"""Regenerates a run's charts and REPORT.md from its JSON alone.

Usage: plot.py RUN_DIR   (normally through ./scripts/plot, which finds a Python with matplotlib)
"""
from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import charts  # noqa: E402
import report  # noqa: E402
from results import RESULT_FILES, load_run  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", help=f"a directory holding {' and/or '.join(RESULT_FILES)}")
    args = parser.parse_args(argv)
    if not os.path.isdir(args.run_dir):
        print(f"error: {args.run_dir} is not a directory", file=sys.stderr)
        return 2
    run = load_run(args.run_dir)
    written = charts.draw_all(run, args.run_dir)
    report_path = os.path.join(args.run_dir, "REPORT.md")
    report.write(run, written, report_path)
    for name in written:
        print(f"wrote {os.path.join(args.run_dir, name)}.svg and .png")
    print(f"wrote {report_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
