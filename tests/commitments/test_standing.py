"""The computed standing of a measured commitment, on fixed clocks."""

from datetime import date

from backend.commitments.standing import Plan, Point, State, compute

# The Met's race action plan: 40% of new recruits from ethnic minority backgrounds, from a baseline of 21% in
# April 2022, by April 2025 (a straight line: 21 + 19 * share of the three years).
RECRUITS = Plan(direction="up", baseline_value=21, baseline_on=date(2022, 4, 1), target_value=40,
                target_on=date(2025, 4, 1))
# A falling metric: handcuff use where no arrest is made, 1,000 a year down to 800 over two years.
HANDCUFFS = Plan(direction="down", baseline_value=1000, baseline_on=date(2023, 1, 1), target_value=800,
                 target_on=date(2025, 1, 1))


def test_before_the_baseline_there_is_no_data():
    s = compute(plan=RECRUITS, points=[Point(date(2022, 6, 1), 30)], today=date(2022, 3, 1))
    assert s.state == State.no_data
    assert "nothing to compare yet" in s.explanation


def test_no_figures_is_no_data():
    s = compute(plan=RECRUITS, points=[], today=date(2023, 6, 1))
    assert s.state == State.no_data and s.latest is None
    # A figure dated after the clock does not count yet.
    assert compute(plan=RECRUITS, points=[Point(date(2023, 7, 1), 39)], today=date(2023, 6, 1)).state == State.no_data


def test_between_behind_the_line():
    # Halfway through (about 1 October 2023) the line is at about 30.5%: 24% is behind.
    s = compute(plan=RECRUITS, points=[Point(date(2022, 10, 1), 22), Point(date(2023, 10, 1), 24)],
                today=date(2023, 11, 1))
    assert s.state == State.behind and s.computed == State.behind
    assert s.expected is not None and 30.4 < s.expected < 30.6  # halfway: 21 + 19/2
    assert s.latest == Point(date(2023, 10, 1), 24)


def test_between_on_track_when_at_or_ahead_of_the_line():
    s = compute(plan=RECRUITS, points=[Point(date(2023, 4, 1), 28)], today=date(2023, 5, 1))
    assert s.state == State.on_track
    # Order of the points does not matter: the latest by date counts.
    s = compute(plan=RECRUITS, points=[Point(date(2024, 4, 1), 36), Point(date(2023, 4, 1), 20)],
                today=date(2024, 5, 1))
    assert s.state == State.on_track and s.latest == Point(date(2024, 4, 1), 36)


def test_met_when_the_target_is_reached():
    s = compute(plan=RECRUITS, points=[Point(date(2024, 4, 1), 41)], today=date(2024, 5, 1))
    assert s.state == State.met


def test_after_the_target_date_short_of_it_is_missed():
    s = compute(plan=RECRUITS, points=[Point(date(2025, 3, 1), 33)], today=date(2025, 4, 2))
    assert s.state == State.missed
    assert "has passed" in s.explanation
    # On the target day itself it is still judged against the line (there at the target): behind.
    assert compute(plan=RECRUITS, points=[Point(date(2025, 3, 1), 33)], today=date(2025, 4, 1)).state == State.behind


def test_a_falling_metric():
    on_track = compute(plan=HANDCUFFS, points=[Point(date(2024, 1, 1), 880)], today=date(2024, 2, 1))
    assert on_track.state == State.on_track  # the line is at about 900
    behind = compute(plan=HANDCUFFS, points=[Point(date(2024, 1, 1), 950)], today=date(2024, 2, 1))
    assert behind.state == State.behind
    assert compute(plan=HANDCUFFS, points=[Point(date(2024, 6, 1), 790)], today=date(2024, 7, 1)).state == State.met
    assert compute(plan=HANDCUFFS, points=[Point(date(2024, 6, 1), 810)],
                   today=date(2025, 2, 1)).state == State.missed


def test_the_coalitions_status_overrides_and_says_so():
    points = [Point(date(2023, 10, 1), 24)]
    s = compute(plan=RECRUITS, points=points, today=date(2023, 11, 1), status="met")
    assert s.state == State.met and s.computed == State.behind and s.overridden
    assert "The coalition has marked this commitment as met" in s.explanation
    assert "behind" in s.explanation
    dropped = compute(plan=RECRUITS, points=points, today=date(2023, 11, 1), status="dropped")
    assert dropped.state == State.dropped and dropped.label == "Dropped"
    # Open and in progress do not override.
    assert compute(plan=RECRUITS, points=points, today=date(2023, 11, 1), status="in_progress").state == State.behind


def test_no_baseline_means_no_line():
    plan = Plan(direction="up", target_value=40, target_on=date(2025, 4, 1))
    assert compute(plan=plan, points=[Point(date(2023, 1, 1), 30)], today=date(2023, 2, 1)).state == State.no_data
    assert compute(plan=plan, points=[Point(date(2023, 1, 1), 40)], today=date(2023, 2, 1)).state == State.met
