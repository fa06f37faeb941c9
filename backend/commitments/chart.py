"""The progress chart of a measured commitment, drawn on the server as SVG (no JavaScript).

The dashed line is the plan (baseline to target), the solid line and dots the figures reported, the ring the
target. The SVG has a title and a description; the page shows the same figures as a table beside it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, Protocol

from markupsafe import Markup, escape

from backend.commitments.models import CommitmentMeasure, Unit
from backend.commitments.standing import Point, Standing
from backend.responses.models import Commitment


class Charted(Protocol):
    """What a chart needs of a tracked commitment (`service.Tracked`), so the chart does not import the service."""

    @property
    def commitment(self) -> Commitment: ...
    @property
    def measure(self) -> CommitmentMeasure | None: ...
    @property
    def standing(self) -> Standing | None: ...
    @property
    def points(self) -> list[Point]: ...
    def fmt(self, value: float | None) -> Any: ...

WIDTH, HEIGHT = 640, 280
LEFT, RIGHT, TOP, BOTTOM = 72, 24, 40, 44


def _nice_step(span: float) -> float:
    raw = span / 4 or 1.0
    magnitude = 10 ** len(str(int(raw))) / 10 if raw >= 1 else 10 ** -len(f"{raw:.10f}".split(".")[1].rstrip("0"))
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


def _axis_label(value: float, unit: str, fmt: Callable[[float], str], top: float) -> str:
    """A tick's label, short enough for the margin: £5m, 250k; percentages and small numbers as written."""
    if unit == Unit.PERCENT or abs(top) < 10_000:
        return fmt(value)
    sign = "£" if unit == Unit.POUNDS else ""
    if value == 0:
        return f"{sign}0"
    if abs(top) >= 1_000_000:
        return f"{sign}{value / 1_000_000:g}m"
    return f"{sign}{value / 1_000:g}k"


def render(tracked: Charted, *, today: date) -> Markup:
    """The chart of one measured commitment as an inline SVG element."""
    measure = tracked.measure
    assert measure is not None
    cid = tracked.commitment.id
    fmt = tracked.fmt
    points = sorted(tracked.points, key=lambda p: p.on)
    days = [measure.target_on] + [p.on for p in points]
    values = [measure.target_value] + [p.value for p in points]
    if measure.baseline_on is not None and measure.baseline_value is not None:
        days.append(measure.baseline_on)
        values.append(measure.baseline_value)
    start, end = min(days), max(days)
    if start == end:
        start = date(start.year - 1, start.month, min(start.day, 28))
    low, high = min(values), max(values)
    if measure.unit in (Unit.POUNDS, Unit.COUNT) and low >= 0:
        low = 0.0
    step = _nice_step(high - low if high > low else abs(high) or 1.0)
    low = (low // step) * step
    high = -((-high) // step) * step
    if high == low:
        high = low + step
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(day: date) -> float:
        return round(LEFT + plot_w * (day - start).days / (end - start).days, 1)

    def y(value: float) -> float:
        return round(TOP + plot_h * (1 - (value - low) / (high - low)), 1)

    parts: list[str] = []
    title_id, desc_id = f"chart-{cid}-title", f"chart-{cid}-desc"
    summary = tracked.standing.explanation if tracked.standing else ""
    parts.append(f'<svg class="commitment-chart" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img" '
                 f'aria-labelledby="{title_id} {desc_id}" xmlns="http://www.w3.org/2000/svg">')
    parts.append(f'<title id="{title_id}">{escape(measure.metric)}: progress towards '
                 f'{escape(fmt(measure.target_value))} by {measure.target_on.day} {measure.target_on:%B %Y}</title>')
    parts.append(f'<desc id="{desc_id}">{escape(summary)} The figures are also in the table below the chart.</desc>')
    # Grid and axes.
    tick = low
    while tick <= high + step / 1000:
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(tick)}" y2="{y(tick)}"/>')
        parts.append(f'<text class="axis" x="{LEFT - 8}" y="{y(tick) + 4}" text-anchor="end">'
                     f'{escape(_axis_label(tick, measure.unit, fmt, high))}</text>')
        tick += step
    years = list(range(start.year + (0 if start.month == 1 and start.day == 1 else 1), end.year + 1))
    for year in years[:: max(1, len(years) // 6 + (1 if len(years) > 6 else 0))]:
        at = x(date(year, 1, 1))
        parts.append(f'<line class="tick" x1="{at}" x2="{at}" y1="{HEIGHT - BOTTOM}" y2="{HEIGHT - BOTTOM + 5}"/>')
        parts.append(f'<text class="axis" x="{at}" y="{HEIGHT - BOTTOM + 20}" text-anchor="middle">{year}</text>')
    parts.append(f'<line class="axis-line" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{HEIGHT - BOTTOM}" '
                 f'y2="{HEIGHT - BOTTOM}"/>')
    # The plan.
    if measure.baseline_on is not None and measure.baseline_value is not None:
        parts.append(f'<line class="plan" x1="{x(measure.baseline_on)}" y1="{y(measure.baseline_value)}" '
                     f'x2="{x(measure.target_on)}" y2="{y(measure.target_value)}"/>')
        parts.append(f'<rect class="baseline" x="{x(measure.baseline_on) - 4}" y="{y(measure.baseline_value) - 4}" '
                     f'width="8" height="8"/>')
    parts.append(f'<circle class="target" cx="{x(measure.target_on)}" cy="{y(measure.target_value)}" r="7"/>')
    parts.append(f'<text class="label" x="{min(x(measure.target_on) - 12, WIDTH - RIGHT - 4)}" '
                 f'y="{y(measure.target_value) + 5}" '
                 f'text-anchor="end">'
                 f'Target {escape(fmt(measure.target_value))}</text>')
    # The figures reported.
    if today >= start and today <= end:
        parts.append(f'<line class="today" x1="{x(today)}" x2="{x(today)}" y1="{TOP}" y2="{HEIGHT - BOTTOM}"/>')
        parts.append(f'<text class="axis" x="{x(today)}" y="{TOP - 10}" text-anchor="middle">Today</text>')
    if points:
        line = " ".join(f"{x(p.on)},{y(p.value)}" for p in points)
        if measure.baseline_on is not None and measure.baseline_value is not None:
            line = f"{x(measure.baseline_on)},{y(measure.baseline_value)} " + line
        parts.append(f'<polyline class="actual" points="{line}"/>')
        for p in points:
            parts.append(f'<circle class="point" cx="{x(p.on)}" cy="{y(p.value)}" r="4.5"/>')
        last = points[-1]
        parts.append(f'<text class="label value" x="{x(last.on) + 8}" y="{y(last.value) + 16}">'
                     f'{escape(fmt(last.value))}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text in it is escaped above
