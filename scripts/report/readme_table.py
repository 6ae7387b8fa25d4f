#!/usr/bin/env python3
"""Checks or rewrites a README's transport table from a run's labels.

Usage: readme_table.py --check README.md RUN_DIR   exit 0 if the table is current, 1 if stale
       readme_table.py --write README.md RUN_DIR   rewrite it in place

The table sits between the lines BEGIN and END (below); everything else in the file is left as
it is. Exit status 2: bad arguments, or the markers are missing. Needs no matplotlib.
"""
from __future__ import annotations

import argparse
import difflib
import os
import sys
from typing import List

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from results import load_run  # noqa: E402
from transport_table import transport_table  # noqa: E402

BEGIN = "<!-- transports:begin -->"
END = "<!-- transports:end -->"


class MarkersMissing(Exception):
    pass


def with_table(text: str, table: List[str]) -> str:
    """`text` with the lines between BEGIN and END replaced by `table`."""
    lines = text.splitlines(keepends=True)
    try:
        begin = next(i for i, line in enumerate(lines) if line.strip() == BEGIN)
        end = next(i for i, line in enumerate(lines) if i > begin and line.strip() == END)
    except StopIteration:
        raise MarkersMissing(f"no '{BEGIN}' line followed by an '{END}' line")
    return "".join(lines[:begin + 1] + [row + "\n" for row in table] + lines[end:])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--check", action="store_true", help="exit 1 if the table is stale")
    mode.add_argument("--write", action="store_true", help="rewrite the table in place")
    parser.add_argument("readme")
    parser.add_argument("run_dir")
    args = parser.parse_args(argv)
    try:
        with open(args.readme, encoding="utf-8") as f:
            current = f.read()
        wanted = with_table(current, transport_table(load_run(args.run_dir)))
    except OSError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except MarkersMissing as e:
        print(f"error: {args.readme}: {e}", file=sys.stderr)
        return 2
    if args.write:
        if wanted != current:
            tmp = args.readme + ".tmp"
            with open(tmp, "w", encoding="utf-8") as f:
                f.write(wanted)
            os.replace(tmp, args.readme)  # a reader never sees half a README
        print(f"{args.readme}: transport table written from {args.run_dir}")
        return 0
    if wanted == current:
        print(f"{args.readme}: transport table matches {args.run_dir}")
        return 0
    sys.stdout.writelines(difflib.unified_diff(current.splitlines(keepends=True),
                                               wanted.splitlines(keepends=True),
                                               args.readme, f"{args.readme} from {args.run_dir}"))
    print(f"{args.readme}: the transport table is stale; to update it run\n"
          f"  scripts/report/readme_table.py --write {args.readme} {args.run_dir}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
