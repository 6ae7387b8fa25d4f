"""scripts/report/transports.py is the one place that spells a transport id: every other report
module asks for a role (`roles.lead`, `roles.baseline`...), so that renaming an id there renames
it in every sentence, table and chart. A source scan, no matplotlib needed.
"""
import dataclasses
import io
import os
import re
import sys
import tokenize
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPORT = os.path.abspath(os.path.join(HERE, "..", "..", "report"))
sys.path.insert(0, REPORT)

import transports as tp  # noqa: E402

# The token types that hold a string's text: STRING, and from Python 3.12 the literal parts of
# an f-string (FSTRING_MIDDLE), which 3.11 and earlier keep inside one STRING token.
_TEXT_TOKENS = {tokenize.STRING} | ({tokenize.FSTRING_MIDDLE}
                                    if hasattr(tokenize, "FSTRING_MIDDLE") else set())


def quoted_ids(source: str, ids):
    """[(line, id)] for every id written inside a string literal (docstrings and f-strings
    included) of `source`; comments and code are not strings and are not looked at."""
    word = re.compile(r"(?<![A-Za-z0-9_])(" + "|".join(
        re.escape(t) for t in sorted(ids, key=len, reverse=True)) + r")(?![A-Za-z0-9_])")
    return [(tok.start[0], m.group(1))
            for tok in tokenize.generate_tokens(io.StringIO(source).readline)
            if tok.type in _TEXT_TOKENS for m in word.finditer(tok.string)]


def report_modules():
    """Every Python module of scripts/report but transports.py."""
    return sorted(f for f in os.listdir(REPORT) if f.endswith(".py") and f != "transports.py")


def read(name):
    with open(os.path.join(REPORT, name), encoding="utf-8") as f:
        return f.read()


class TransportIdsLiveInTransportsPy(unittest.TestCase):

    def test_no_report_module_quotes_a_transport_id(self):
        found = [f"{name}:{line}: {t}" for name in report_modules()
                 for line, t in quoted_ids(read(name), tp.known_ids())]
        self.assertEqual(found, [], "transport ids spelled outside transports.py (ask for a "
                         "role in transports.roles instead):\n" + "\n".join(found))

    def test_the_scan_finds_ids_in_strings_only(self):
        source = ('"""Docstring naming naive_pipe."""\n'
                  'a = "shm_ring"  # a comment naming memcpy\n'
                  'b = f"`{roles.lead}` against tuned_pipe_loan and {x}"\n'
                  'tuned_pipe = "tuned_pipes py_pipe_duplex"\n')
        self.assertEqual(quoted_ids(source, tp.known_ids()),
                         [(1, "naive_pipe"), (2, "shm_ring"), (3, "tuned_pipe_loan"),
                          (4, "py_pipe_duplex")])

    def test_every_report_module_is_scanned(self):
        self.assertIn("report.py", report_modules())
        self.assertIn("charts.py", report_modules())
        self.assertIn("cells.py", report_modules())
        self.assertIn("large_messages.py", report_modules())
        self.assertIn("capacity.py", report_modules())
        self.assertNotIn("transports.py", report_modules())

    def test_every_role_names_a_catalogued_transport(self):
        unknown = [(f.name, getattr(tp.roles, f.name)) for f in dataclasses.fields(tp.Roles)
                   if getattr(tp.roles, f.name) not in tp.known_ids()]
        self.assertEqual(unknown, [], "roles naming no transport of the catalogue")

    def test_every_catalogued_transport_has_a_copy_tier(self):
        # The yardstick and the noise-floor twin move nothing between processes of their own;
        # every other transport the catalogue lists says how many copies it makes (a new entry
        # without one would be "unknown" in the report's large-message section).
        tiers = {t: tp.copy_tier(t) for t in tp.known_ids()}
        self.assertEqual([t for t, tier in tiers.items() if tier is None],
                         [tp.roles.yardstick, tp.roles.noise_twin])
        untiered = [t for t, tier in tiers.items()
                    if tier is not None and tier not in tp.COPY_TIERS]
        self.assertEqual(untiered, [], "catalogue entries without a copy tier")
        self.assertEqual(tp.copy_tier("not_in_the_catalogue"), tp.UNCLASSIFIED)

    def test_transports_py_spells_each_id_once(self):
        # A role's id is written in `roles` and the catalogue refers to it, so renaming a
        # transport is one edit. The capacity study's ids are made from its variants and
        # capacities, so they are spelled nowhere, not even there.
        literals = [tok.string for tok in tokenize.generate_tokens(
            io.StringIO(read("transports.py")).readline) if tok.type == tokenize.STRING]
        made = set(tp.capacity_ids())
        wrong = [t for t in tp.known_ids()
                 if sum(s in (f'"{t}"', f"'{t}'") for s in literals) != (0 if t in made else 1)]
        self.assertEqual(wrong, [], "ids not spelled exactly once in transports.py (the "
                         "capacity study's: spelled at all)")

    def test_the_capacity_study_is_made_from_its_capacities(self):
        # The ids the harness registers (harness/src/transport_registry.cpp), each with what
        # it asks for: no module but transports.py reads a capacity out of an id.
        KiB, MiB = 1 << 10, 1 << 20
        expected = {f"{v}_cap{tag}": (v, n) for v in ("tuned_pipe", "tuned_pipe_loan")
                    for tag, n in (("64k", 64 * KiB), ("256k", 256 * KiB), ("1m", MiB),
                                   ("4m", 4 * MiB), ("16m", 16 * MiB), ("64m", 64 * MiB))}
        self.assertEqual(tp.capacity_ids(), list(expected))
        for t, (variant, asked) in expected.items():
            self.assertEqual(tp.capacity_request(t), tp.CapacityRequest(variant, asked), t)
            self.assertEqual(tp.get(t).family, tp.CAPACITY, t)
            self.assertEqual(tp.copy_tier(t), tp.copy_tier(variant), t)  # as its variant
        self.assertEqual(tp.capacity_ids(tp.roles.loan), list(expected)[6:])
        self.assertIsNone(tp.capacity_request(tp.roles.lead))
        self.assertIsNone(tp.capacity_request("tuned_pipe_capacity"))
        # A capacity added to the harness later is still the study, never a contender.
        self.assertEqual(tp.capacity_request("tuned_pipe_cap128m"),
                         tp.CapacityRequest(tp.roles.lead, 128 * MiB))
        self.assertEqual(tp.get("tuned_pipe_cap128m").family, tp.CAPACITY)

    def test_every_catalogued_transport_has_its_own_colour(self):
        colours = [tp.get(t).color for t in tp.known_ids()]
        self.assertEqual(len(colours), len(set(colours)))


if __name__ == "__main__":
    unittest.main()
