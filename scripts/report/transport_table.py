"""The transports as a run configured them: one Markdown table from the rows' labels.

REPORT.md and README.md (through readme_table.py) print the same table, so the configuration a
number was measured with travels with it and is never retyped by hand.
"""
from __future__ import annotations

from typing import List

import transports as tp
from results import Run
from units import size_list


def _cell(text: str) -> str:
    return text.replace("|", "\\|")  # a label may hold a pipe character


def transport_table(run: Run) -> List[str]:
    """One row per transport of the run: id, family, and its label. A label that differs at
    some sizes is given with those sizes; a transport whose rows carry no label (a run from
    before labels were recorded) falls back on the catalogue's description, and says so."""
    out = ["| id | family | configuration |", "|---|---|---|"]
    for t in run.transports():
        labels = run.labels(t)
        if not labels:
            text = f"{tp.get(t).what} (catalogue description: the run recorded no label)"
        else:
            text = labels[0][0] + "".join(f"; at {size_list(sizes)}: {other}"
                                          for other, sizes in labels[1:])
        out.append(f"| `{t}` | {tp.get(t).family} | {_cell(text)} |")
    return out
