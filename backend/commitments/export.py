"""Commitments as data: the rows of the press pack's `commitments.csv` and the API's objects, from one source so
the two always carry the same numbers."""

from __future__ import annotations

from collections.abc import Iterable

from backend.commitments.service import Tracked, plain_number
from backend.signatures import csvio

CSV_HEADER = ["commitment_id", "commitment", "source", "source_link", "metric", "unit", "direction", "status",
              "standing", "row", "date", "value", "link", "note"]


def csv_rows(tracked: Iterable[Tracked]) -> list[list[object]]:
    """One row per figure (baseline, each update, target) or note; numbers written plainly (40, 17.5)."""
    rows: list[list[object]] = []
    for t in tracked:
        c, m = t.commitment, t.measure
        unit = (m.unit_label or m.unit) if m else ""
        head = [c.id, c.text, t.source_text, t.source_url or "", m.metric if m else "", unit,
                m.direction if m else "", c.status, t.standing.state.value if t.standing else ""]
        if m is not None and m.baseline_value is not None and m.baseline_on is not None:
            rows.append([*head, "baseline", m.baseline_on.isoformat(), plain_number(m.baseline_value),
                         m.baseline_url or "", ""])
        for e in t.evidence:
            rows.append([*head, "update", e.noted_on.isoformat(),
                         plain_number(e.value) if e.value is not None else "", e.link or "", e.note])
        if m is not None:
            rows.append([*head, "target", m.target_on.isoformat(), plain_number(m.target_value), "", ""])
        elif not t.evidence:
            rows.append([*head, "commitment", c.due_on.isoformat() if c.due_on else "", "", "", ""])
    return rows


def commitments_csv(tracked: Iterable[Tracked]) -> str:
    """The CSV text, every cell neutralised against spreadsheet formulas (as the signatory list)."""
    return csvio.write(CSV_HEADER, csv_rows(tracked))
