#!/usr/bin/env python3
"""Checks that every test pipes/README.md names (`Suite.test_name`, in backticks) exists in the
pipes_tests binary, so that no line of the guarantees table outlives the test that backs it.

Usage: check_readme_tests.py README.md PIPES_TESTS_BINARY   (exit 0 when every name exists)
"""
import re
import subprocess
import sys

NAME = re.compile(r"`([A-Z][A-Za-z]*\.[a-z_*][a-z0-9_*]*)`")


def listed_tests(binary: str) -> set:
    out = subprocess.run([binary, "--gtest_list_tests"], check=True, capture_output=True,
                         text=True).stdout
    tests, suite = set(), ""
    for line in out.splitlines():
        if not line.startswith(" "):
            suite = line.split()[0].rstrip(".").split("/")[-1]
        else:
            tests.add(f"{suite}.{line.split()[0].split('/')[0]}")
    return tests


def main(argv) -> int:
    readme, binary = argv[1], argv[2]
    tests = listed_tests(binary)
    named = set(NAME.findall(open(readme, encoding="utf-8").read()))
    missing = sorted(name for name in named
                     if not any(re.fullmatch(name.replace("*", ".*"), t) for t in tests))
    for name in missing:
        print(f"{readme} names a test that does not exist: {name}", file=sys.stderr)
    print(f"{len(named) - len(missing)} of {len(named)} named tests exist")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
