"""The server-drawn chart: valid SVG, every text escaped, the plan, the figures and the target drawn."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date

from backend.commitments import service
from backend.commitments.chart import render
from backend.commitments.models import CommitmentMeasure
from backend.responses.models import Commitment, CommitmentEvidence

SVG = "{http://www.w3.org/2000/svg}"


def _parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314 - our own output, under test


def _tracked(metric: str, unit: str = "percent", direction: str = "up") -> service.Tracked:
    commitment = Commitment(id=7, document_id=1, text="A promise", status="in_progress")
    measure = CommitmentMeasure(commitment_id=7, metric=metric, unit=unit, unit_label="", direction=direction,
                                baseline_value=1000 if direction == "down" else 22, baseline_on=date(2022, 4, 1),
                                target_value=800 if direction == "down" else 40, target_on=date(2025, 4, 1))
    evidence = [CommitmentEvidence(commitment_id=7, noted_on=date(2023, 4, 1), note="",
                                   value=900 if direction == "down" else 25),
                CommitmentEvidence(commitment_id=7, noted_on=date(2024, 4, 1), note="", value=None)]
    t = service.Tracked(commitment, None, None, None, measure, evidence)
    t.standing = service.standing_of(measure=measure, evidence=evidence, status="in_progress",
                                     today=date(2024, 1, 1))
    return t


def test_the_chart_is_svg_with_its_parts_and_escaped_text():
    svg = str(render(_tracked('Recruits <script>alert("x")</script> & more'), today=date(2024, 1, 1)))
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    root = _parse(svg)
    assert root.get("role") == "img" and root.get("aria-labelledby") == "chart-7-title chart-7-desc"
    title = root.find(f"{SVG}title")
    assert title is not None and title.text.startswith('Recruits <script>alert("x")</script> & more')
    assert "40%" in title.text
    desc = root.find(f"{SVG}desc")
    assert desc is not None and "is short of the 27.99%" in desc.text  # behind, in words
    classes = [el.get("class") for el in root.iter()]
    for part in ("plan", "baseline", "target", "actual", "point", "today"):
        assert part in classes, part
    assert classes.count("point") == 1  # the update without a figure is not a point
    labels = [el.text for el in root.iter(f"{SVG}text")]
    assert "Target 40%" in labels and "2023" in labels and "Today" in labels


def test_a_falling_metric_in_pounds_is_drawn_from_zero():
    svg = str(render(_tracked("Spend", unit="pounds", direction="down"), today=date(2030, 1, 1)))
    root = _parse(svg)
    labels = [el.text for el in root.iter(f"{SVG}text")]
    assert "£0" in labels and "Target £800" in labels
    assert "Today" not in labels  # today is past the end of the chart


def test_large_sums_are_short_on_the_axis():
    t = _tracked("Fund paid out", unit="pounds")
    t.measure.baseline_value, t.measure.target_value = 0, 5_000_000
    t.evidence[0].value = 3_000_000
    labels = [el.text for el in _parse(str(render(t, today=date(2024, 1, 1)))).iter(f"{SVG}text")]
    assert "£4m" in labels and "£0" in labels and "Target £5,000,000" in labels
