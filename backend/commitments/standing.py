"""Where a measured commitment stands, computed: a pure function of its numbers, its evidence and a date.

The plan is a straight line from the baseline (value, date) to the target (value, date). The latest figure is
compared with where the line is on the day that figure was measured: at or beyond the line is "on track",
short of it "behind". Reaching the target is "met"; a target date passed without reaching it is "missed".
The coalition's own status (met, missed, dropped) overrides the figures, and the result says so.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum


class State(StrEnum):
    on_track = "on_track"
    behind = "behind"
    met = "met"
    missed = "missed"
    no_data = "no_data"
    dropped = "dropped"


LABELS = {State.on_track: "On track", State.behind: "Behind", State.met: "Met", State.missed: "Missed",
          State.no_data: "No data", State.dropped: "Dropped"}
# The coalition's statuses that override the figures.
OVERRIDING = {"met": State.met, "missed": State.missed, "dropped": State.dropped}


@dataclass(frozen=True)
class Point:
    on: date
    value: float


@dataclass(frozen=True)
class Plan:
    """The numbers of a measured commitment (see CommitmentMeasure)."""

    direction: str  # "up" or "down"
    target_value: float
    target_on: date
    baseline_value: float | None = None
    baseline_on: date | None = None

    @property
    def has_line(self) -> bool:
        return self.baseline_value is not None and self.baseline_on is not None and self.baseline_on < self.target_on

    def expected_on(self, day: date) -> float | None:
        """Where the straight line from baseline to target is on `day` (held flat outside the two dates)."""
        if not self.has_line:
            return None
        assert self.baseline_value is not None and self.baseline_on is not None
        span = (self.target_on - self.baseline_on).days
        share = min(max((day - self.baseline_on).days / span, 0.0), 1.0)
        return self.baseline_value + (self.target_value - self.baseline_value) * share

    def reaches(self, value: float, goal: float) -> bool:
        """Whether `value` is at or beyond `goal` in the direction the commitment should move."""
        return value >= goal if self.direction == "up" else value <= goal


@dataclass(frozen=True)
class Standing:
    state: State  # what is shown: the coalition's status when it overrides, else the computed one
    computed: State  # what the figures alone say
    explanation: str
    overridden: bool = False
    latest: Point | None = None
    expected: float | None = None  # the line's value on the latest figure's date

    @property
    def label(self) -> str:
        return LABELS[self.state]

    @property
    def computed_label(self) -> str:
        return LABELS[self.computed]


def _day(value: date) -> str:
    return f"{value.day} {value:%B %Y}"


def compute(*, plan: Plan, points: Iterable[Point], today: date, status: str = "open",
            fmt: Callable[[float], str] | None = None) -> Standing:
    """The standing of a measured commitment on `today`; `status` is the coalition's own."""
    computed, why, latest, expected = _from_figures(plan, list(points), today, fmt or (lambda v: f"{v:g}"))
    override = OVERRIDING.get(status)
    if override is None:
        return Standing(computed, computed, why, latest=latest, expected=expected)
    said = {"met": "met", "missed": "missed", "dropped": "dropped"}[status]
    return Standing(override, computed,
                    f"The coalition has marked this commitment as {said}. From the figures alone: "
                    f"{LABELS[computed].lower()} ({why[0].lower()}{why[1:]})",
                    overridden=True, latest=latest, expected=expected)


def _from_figures(plan: Plan, points: list[Point], today: date,
                  fmt: Callable[[float], str]) -> tuple[State, str, Point | None, float | None]:
    if plan.baseline_on is not None and today < plan.baseline_on:
        return State.no_data, f"The baseline is dated {_day(plan.baseline_on)}: nothing to compare yet.", None, None
    known = sorted((p for p in points if p.on <= today and (plan.baseline_on is None or p.on >= plan.baseline_on)),
                   key=lambda p: p.on)
    if not known:
        if today > plan.target_on:
            return (State.no_data, f"The target date, {_day(plan.target_on)}, has passed with no figure "
                                   "recorded since the baseline.", None, None)
        return State.no_data, "No figure has been recorded since the baseline.", None, None
    latest = known[-1]
    target = fmt(plan.target_value)
    now = fmt(latest.value)
    if plan.reaches(latest.value, plan.target_value):
        return (State.met, f"The latest figure, {now} on {_day(latest.on)}, reaches the target of {target}.",
                latest, plan.expected_on(latest.on))
    if today > plan.target_on:
        return (State.missed, f"The target date, {_day(plan.target_on)}, has passed and the latest figure, {now} "
                              f"on {_day(latest.on)}, falls short of the target of {target}.",
                latest, plan.expected_on(latest.on))
    expected = plan.expected_on(latest.on)
    if expected is None:
        return (State.no_data, f"The latest figure is {now} on {_day(latest.on)}, but with no baseline there is "
                               "no line to compare it with.", latest, None)
    if plan.reaches(latest.value, expected):
        return (State.on_track, f"The latest figure, {now} on {_day(latest.on)}, is at or ahead of the "
                                f"{fmt(expected)} a straight line to the target of {target} by "
                                f"{_day(plan.target_on)} needs by then.", latest, expected)
    return (State.behind, f"The latest figure, {now} on {_day(latest.on)}, is short of the {fmt(expected)} a "
                          f"straight line to the target of {target} by {_day(plan.target_on)} needs by then.",
            latest, expected)
