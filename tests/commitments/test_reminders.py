"""The daily reminders of measured commitments: a passed target date, months without a figure; once each."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from backend.commitments import service
from backend.commitments.models import CommitmentAlert
from backend.responses import tracking
from tests.responses.test_routes import coalition  # noqa: F401 (a fixture)

TODAY = tracking.today()


def _measured(db, c, *, target_on, last_figure_on):
    lead, letter = c["lead"], c["letter"]
    document = service.add_document(session=db, letter=letter, user=lead, values={
        "title": "Race action plan", "publisher": "Metropolitan Police",
        "published_on": (TODAY - timedelta(days=900)).isoformat(), "url": "https://www.met.police.uk/plan"})
    errors: dict[str, str] = {}
    measure = service.read_measure({
        "metric": "Share of new recruits from ethnic minority backgrounds", "unit": "percent", "direction": "up",
        "baseline_value": "21", "baseline_on": (TODAY - timedelta(days=800)).isoformat(),
        "target_value": "40", "target_on": target_on.isoformat()}, errors)
    assert not errors and measure is not None
    commitment = service.create_commitment(session=db, letter=letter, source=f"document:{document.id}",
                                           text="40% of new recruits", due_on=None, measure=measure, user=lead)
    service.add_update(session=db, letter=letter, commitment_id=commitment.id, user=lead,
                       data=service.UpdateData(last_figure_on, 30, None, "Annual report", "in_progress"))
    db.commit()
    return commitment


def test_target_passed_and_silence_each_remind_once(db, coalition, smtp, deliver):  # noqa: F811
    commitment = _measured(db, coalition, target_on=TODAY - timedelta(days=2),
                           last_figure_on=TODAY - timedelta(days=240))
    assert service.check_reminders(session=db, silence_months=6) == 2
    db.commit()
    assert service.check_reminders(session=db, silence_months=6) == 0  # rerun: nothing more
    db.commit()
    deliver()
    mails = smtp.wait_for(2, to="lead@example.org")
    subjects = sorted(m.subject for m in mails)
    assert subjects[0].startswith("No new figures for 6 months") and subjects[1].startswith("Target date passed")
    assert any(f"/commitments/{commitment.id}" in m.text for m in mails)
    kinds = sorted(a.kind for a in db.exec(select(CommitmentAlert)))
    assert kinds == ["no_evidence", "target_passed"]
    # A new figure resets the silence; seven months on, the new silence is a new event.
    service.add_update(session=db, letter=coalition["letter"], commitment_id=commitment.id, user=coalition["lead"],
                       data=service.UpdateData(TODAY, 33, None, "", "in_progress"))
    db.commit()
    assert service.check_reminders(session=db, silence_months=6) == 0
    assert service.check_reminders(session=db, on=TODAY + timedelta(days=215), silence_months=6) == 1
    db.commit()
    # Once the coalition says it was missed, no more reminders.
    service.add_update(session=db, letter=coalition["letter"], commitment_id=commitment.id, user=coalition["lead"],
                       data=service.UpdateData(TODAY, None, None, "Not reached", "missed"))
    db.commit()
    assert service.check_reminders(session=db, on=TODAY + timedelta(days=500), silence_months=6) == 0


def test_a_commitment_on_track_and_recently_measured_is_quiet(db, coalition, engine, settings):  # noqa: F811
    from backend import worker

    _measured(db, coalition, target_on=TODAY + timedelta(days=300), last_figure_on=TODAY - timedelta(days=30))
    assert service.check_reminders(session=db, silence_months=6) == 0
    # The job is registered with the worker's scheduler and runs without error.
    worker.load_jobs()
    jobs = dict(worker._jobs)
    assert "commitment reminders" in jobs
    jobs["commitment reminders"](engine, settings)
    assert db.exec(select(CommitmentAlert)).all() == []
