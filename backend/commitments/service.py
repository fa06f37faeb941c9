"""Measured commitments: public documents, commitments with numbers, evidence updates (edits keep the earlier
values), what the public sees, and the daily reminders to the lead.

Services never commit: the route (or the job) does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from markupsafe import Markup
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from backend.accounts.models import User
from backend.audit import service as audit
from backend.campaigns.policy import Action
from backend.commitments import chart
from backend.commitments import standing as computed
from backend.commitments.models import (
    AlertKind,
    CommitmentAlert,
    CommitmentMeasure,
    Direction,
    EvidenceRevision,
    PublicDocument,
    Unit,
)
from backend.db import utcnow
from backend.errors import InvalidInput, NotFound
from backend.letters.models import Letter, LetterRecipient, Recipient
from backend.mail import service as mail
from backend.publishing import revision
from backend.responses import replies, tracking
from backend.responses.enums import CommitmentStatus
from backend.responses.models import COMMITMENT_STATUSES, Commitment, CommitmentEvidence, Response

UNIT_LABELS = {Unit.PERCENT: "Percent (%)", Unit.POUNDS: "Pounds (£)", Unit.COUNT: "A count",
               Unit.OTHER: "Another unit (name it)"}
DIRECTION_LABELS = {Direction.UP: "Up: higher is better", Direction.DOWN: "Down: lower is better"}
MAX_VALUE = 1e13


class CommitmentErrors(InvalidInput):
    """Several field problems at once (the form shows each beside its field)."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(next(iter(errors.values())), field=next(iter(errors)))
        self.errors = errors


# Values -------------------------------------------------------------------------------------------------

def parse_number(text: str) -> float | None:
    """A figure as people type it: "40", "40%", "£1,000,000", "17.5"; None when empty; ValueError when not."""
    cleaned = (text or "").strip().replace(",", "").replace("£", "").replace("%", "").strip()
    if not cleaned:
        return None
    value = float(cleaned)
    if value != value or abs(value) > MAX_VALUE:  # NaN, inf, absurd
        raise ValueError(text)
    return value


def plain_number(value: float) -> str:
    """A figure without a unit, as short as it can be written exactly ("40", "17.5", "5100000")."""
    if float(value).is_integer():
        return str(int(value))
    return repr(float(value))


def _grouped(value: float) -> str:
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def formatter(measure: CommitmentMeasure) -> Any:
    """How the measure's figures are written for people: 40%, £1,000,000, 1,200 officers."""

    def fmt(value: float) -> str:
        if measure.unit == Unit.PERCENT:
            return f"{_grouped(round(value, 2))}%"
        if measure.unit == Unit.POUNDS:
            return f"£{_grouped(round(value, 0 if abs(value) >= 1000 else 2))}"
        if measure.unit == Unit.OTHER and measure.unit_label:
            return f"{_grouped(round(value, 2))} {measure.unit_label}"
        return _grouped(round(value, 2))

    return fmt


def _clean_url(value: str, name: str, errors: dict[str, str], *, required: bool = False,
               what: str = "the link") -> str | None:
    value = (value or "").strip()
    if not value:
        if required:
            errors[name] = f"Enter {what} (a web address starting with https://)."
        return None
    if not value.startswith(("https://", "http://")) or len(value) > 1000 or any(c.isspace() for c in value):
        errors[name] = f"Enter {what} as a web address starting with https://."
        return None
    return value


def _clean_text(value: str, name: str, errors: dict[str, str], *, what: str, limit: int,
                required: bool = True) -> str:
    value = " ".join((value or "").split())
    if required and not value:
        errors[name] = f"Enter {what}."
    elif len(value) > limit:
        errors[name] = f"{what[0].upper()}{what[1:]} is too long ({limit:,} characters at most)."
    return value


def parse_day(value: str, name: str, errors: dict[str, str], *, what: str, required: bool = False) -> date | None:
    value = (value or "").strip()
    if not value:
        if required:
            errors[name] = f"Enter {what}."
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors[name] = f"Enter {what} as a real date, for example 2025-04-01."
        return None


def _parse_value(value: str, name: str, errors: dict[str, str], *, what: str, required: bool = False,
                 ) -> float | None:
    try:
        number = parse_number(value)
    except ValueError:
        errors[name] = f"Enter {what} as a number, for example 40 or 17.5."
        return None
    if number is None and required:
        errors[name] = f"Enter {what}."
    return number


# Public documents ------------------------------------------------------------------------------------------

def get_documents(*, session: Session, letter: Letter) -> list[PublicDocument]:
    """The public documents attached to the letter, oldest first."""
    return list(session.exec(select(PublicDocument).where(PublicDocument.letter_id == letter.id)
                             .order_by(col(PublicDocument.published_on), col(PublicDocument.id))))


def add_document(*, session: Session, letter: Letter, values: dict[str, str], user: User) -> PublicDocument:
    """Attaches a public document (an action plan, a press release) that commitments can come from."""
    tracking.require(session=session, letter=letter, user=user, action=Action.record_response)
    errors: dict[str, str] = {}
    title = _clean_text(values.get("title", ""), "doc-title", errors, what="the title of the document", limit=300)
    publisher = _clean_text(values.get("publisher", ""), "doc-publisher", errors,
                            what="who published it (for example Metropolitan Police)", limit=200)
    published_on = parse_day(values.get("published_on", ""), "doc-published_on", errors,
                              what="the date it was published", required=True)
    if published_on and published_on > tracking.today():
        errors["doc-published_on"] = "The date it was published cannot be in the future."
    url = _clean_url(values.get("url", ""), "doc-url", errors, required=True, what="the link to the document")
    if errors:
        raise CommitmentErrors(errors)
    assert published_on is not None and url is not None
    document = PublicDocument(letter_id=letter.id, title=title, publisher=publisher,  # type: ignore[arg-type]
                              published_on=published_on, url=url, created_by_id=user.id)
    session.add(document)
    session.flush()
    audit.record(session=session, action="public_document_added", actor=audit.actor_of(user),
                 actor_user_id=user.id, subject_type="public_document", subject_id=document.id,
                 details={"letter_id": letter.id, "title": title})
    revision.bump(session=session, letter_id=letter.id)  # shown on the public page
    return document


# Commitments with numbers --------------------------------------------------------------------------------------

@dataclass
class MeasureData:
    metric: str
    unit: str
    unit_label: str
    direction: str
    baseline_value: float | None
    baseline_on: date | None
    baseline_url: str | None
    target_value: float
    target_on: date


MEASURE_FIELDS = ("metric", "unit", "unit_label", "direction", "baseline_value", "baseline_on", "baseline_url",
                  "target_value", "target_on")


def read_measure(values: dict[str, str], errors: dict[str, str]) -> MeasureData | None:
    """The numbers typed in a form; None when no metric was given (a commitment without numbers)."""
    metric = _clean_text(values.get("metric", ""), "metric", errors, what="what is counted", limit=300,
                         required=False)
    if not metric:
        return None
    unit = values.get("unit", "")
    if unit not in list(Unit):
        errors["unit"] = "Choose the unit the figures are in."
    unit_label = _clean_text(values.get("unit_label", ""), "unit_label", errors, what="the name of the unit",
                             limit=40, required=unit == Unit.OTHER)
    direction = values.get("direction", "")
    if direction not in list(Direction):
        errors["direction"] = "Choose whether the figure should go up or down."
    baseline_value = _parse_value(values.get("baseline_value", ""), "baseline_value", errors,
                                  what="the baseline figure")
    baseline_on = parse_day(values.get("baseline_on", ""), "baseline_on", errors, what="the date of the baseline",
                             required=baseline_value is not None)
    if baseline_on is not None and baseline_value is None and "baseline_value" not in errors:
        errors["baseline_value"] = "Enter the baseline figure, or leave its date empty too."
    baseline_url = _clean_url(values.get("baseline_url", ""), "baseline_url", errors,
                              what="the source of the baseline")
    target_value = _parse_value(values.get("target_value", ""), "target_value", errors, what="the target figure",
                                required=True)
    target_on = parse_day(values.get("target_on", ""), "target_on", errors, what="the date the target is due by",
                           required=True)
    if baseline_on and target_on and target_on <= baseline_on:
        errors["target_on"] = "The target date must come after the date of the baseline."
    if (unit == Unit.PERCENT and target_value is not None and not 0 <= target_value <= 100
            and "target_value" not in errors):
        errors["target_value"] = "A percentage target must be between 0 and 100."
    wrong_way = baseline_value is not None and target_value is not None and (
        (direction == Direction.UP and target_value <= baseline_value)
        or (direction == Direction.DOWN and target_value >= baseline_value))
    if wrong_way and "target_value" not in errors:
        errors["target_value"] = (f"The target should be {'above' if direction == 'up' else 'below'} the "
                                  f"baseline for a figure that should go {direction}.")
    if errors or target_value is None or target_on is None:
        return None
    return MeasureData(metric, unit, unit_label if unit == Unit.OTHER else "", direction, baseline_value,
                       baseline_on, baseline_url, target_value, target_on)


def _measure_snapshot(measure: CommitmentMeasure) -> dict[str, Any]:
    return {name: (v.isoformat() if isinstance(v, date) else v)
            for name in MEASURE_FIELDS for v in [getattr(measure, name)]}


def _apply_measure(measure: CommitmentMeasure, data: MeasureData) -> None:
    for name in MEASURE_FIELDS:
        setattr(measure, name, getattr(data, name))


def create_commitment(*, session: Session, letter: Letter, source: str, text: str, due_on: date | None,
                      measure: MeasureData | None, user: User) -> Commitment:
    """Records a promise from a response (`response:ID`) or a public document (`document:ID`) on the letter."""
    tracking.require(session=session, letter=letter, user=user, action=Action.record_response)
    errors: dict[str, str] = {}
    text = _clean_text(text, "text", errors, what="what was promised", limit=2000)
    kind, _, raw_id = (source or "").partition(":")
    response_id = document_id = None
    if kind == "response" and raw_id.isdigit():
        try:
            response, _ = replies.get_response(session=session, letter=letter, response_id=int(raw_id))
            response_id = response.id
        except NotFound:
            errors["source"] = "Choose where the promise was made from the list."
    elif kind == "document" and raw_id.isdigit():
        document = session.get(PublicDocument, int(raw_id))
        if document is None or document.letter_id != letter.id:
            errors["source"] = "Choose where the promise was made from the list."
        else:
            document_id = document.id
    else:
        errors["source"] = "Choose where the promise was made: a recorded response or a public document."
    if errors:
        raise CommitmentErrors(errors)
    siblings = select(Commitment.id).where(Commitment.response_id == response_id) if response_id else select(
        Commitment.id).where(Commitment.document_id == document_id)
    commitment = Commitment(response_id=response_id, document_id=document_id, text=text, due_on=due_on,
                            position=len(session.exec(siblings).all()))
    session.add(commitment)
    session.flush()
    if measure is not None:
        row = CommitmentMeasure(commitment_id=commitment.id, metric="", unit="", direction="",  # type: ignore[arg-type]
                                target_value=0, target_on=measure.target_on)
        _apply_measure(row, measure)
        session.add(row)
    audit.record(session=session, action="commitment_added", actor=audit.actor_of(user),
                 actor_user_id=user.id, subject_type="commitment", subject_id=commitment.id,
                 details={"letter_id": letter.id, "measured": measure is not None})
    session.flush()
    revision.bump(session=session, letter_id=letter.id)  # shown on the public page
    return commitment


def get_commitment(*, session: Session, letter: Letter, commitment_id: int) -> Commitment:
    """A commitment of the letter, whichever source it came from; NotFound otherwise."""
    commitment = session.get(Commitment, commitment_id)
    if commitment is None or _letter_id_of(session, commitment) != letter.id:
        raise NotFound("There is no such commitment on this letter.")
    return commitment


def _letter_id_of(session: Session, commitment: Commitment) -> int | None:
    if commitment.document_id is not None:
        document = session.get(PublicDocument, commitment.document_id)
        return document.letter_id if document else None
    return session.exec(select(LetterRecipient.letter_id)
                        .join(Response, col(Response.letter_recipient_id) == LetterRecipient.id)
                        .where(Response.id == commitment.response_id)).first()


def get_measure(*, session: Session, commitment_id: int) -> CommitmentMeasure | None:
    return session.exec(select(CommitmentMeasure).where(CommitmentMeasure.commitment_id == commitment_id)).first()


def set_measure(*, session: Session, letter: Letter, commitment_id: int, measure: MeasureData | None,
                user: User) -> CommitmentMeasure | None:
    """Gives a commitment its numbers, or changes them; the earlier numbers go into the audit line."""
    tracking.require(session=session, letter=letter, user=user, action=Action.record_response)
    commitment = get_commitment(session=session, letter=letter, commitment_id=commitment_id)
    row = get_measure(session=session, commitment_id=commitment_id)
    before = _measure_snapshot(row) if row else None
    if measure is None:
        if row is not None:
            session.delete(row)
    else:
        if row is None:
            row = CommitmentMeasure(commitment_id=commitment.id, metric="", unit="", direction="",  # type: ignore[arg-type]
                                    target_value=0, target_on=measure.target_on)
        _apply_measure(row, measure)
        session.add(row)
    commitment.updated_at = utcnow()
    session.add(commitment)
    audit.record(session=session, action="commitment_numbers_changed", actor=audit.actor_of(user),
                 actor_user_id=user.id, subject_type="commitment", subject_id=commitment.id,
                 details={"before": before})
    session.flush()
    revision.bump(session=session, letter_id=letter.id)  # shown on the public page
    return row if measure is not None else None


# Evidence updates -------------------------------------------------------------------------------------------

UPDATE_FIELDS = ("noted_on", "value", "link", "note", "status")


@dataclass
class UpdateData:
    noted_on: date
    value: float | None
    link: str | None
    note: str
    status: str


def read_update(values: dict[str, str], *, measured: bool, current_status: str) -> UpdateData:
    """An evidence update typed in a form; CommitmentErrors with every problem."""
    errors: dict[str, str] = {}
    noted_on = parse_day(values.get("noted_on", ""), "noted_on", errors, what="the date of the update",
                          required=True)
    if noted_on and noted_on > tracking.today():
        errors["noted_on"] = "The date of the update cannot be in the future."
    value = _parse_value(values.get("value", ""), "value", errors, what="the figure")
    link = _clean_url(values.get("link", ""), "link", errors, what="the source link")
    note = " ".join((values.get("note") or "").split())
    if len(note) > 2000:
        errors["note"] = "The note is too long (2,000 characters at most)."
    status = values.get("status") or current_status
    if status not in COMMITMENT_STATUSES:
        errors["status"] = "Choose a status from the list."
    if not measured and value is not None:
        errors["value"] = ("This commitment has no numbers: give it a metric and a target first, "
                           "or leave the figure empty.")
    if not note and value is None and status == current_status and "value" not in errors:
        errors["note"] = "Write what happened, or give the figure measured."
    if errors:
        raise CommitmentErrors(errors)
    assert noted_on is not None
    return UpdateData(noted_on, value, link, note, status)


def add_update(*, session: Session, letter: Letter, commitment_id: int, data: UpdateData,
               user: User) -> CommitmentEvidence:
    """Adds an evidence update (a dated figure, link and note), changing the status when a new one is given."""
    tracking.require(session=session, letter=letter, user=user, action=Action.record_response)
    commitment = get_commitment(session=session, letter=letter, commitment_id=commitment_id)
    changed = data.status != commitment.status
    evidence = CommitmentEvidence(
        commitment_id=commitment.id,  # type: ignore[arg-type]
        noted_on=data.noted_on, note=data.note or (f"Status changed to {data.status.replace('_', ' ')}."
                                                   if changed and data.value is None else ""),
        link=data.link, value=data.value,
        status_from=commitment.status if changed else None,
        status_to=CommitmentStatus(data.status) if changed else None,
        created_by_id=user.id,
    )
    commitment.status = CommitmentStatus(data.status)
    session.add(commitment)
    session.add(evidence)
    session.flush()
    audit.record(session=session, action="commitment_evidence_added", actor=audit.actor_of(user),
                 actor_user_id=user.id, subject_type="commitment", subject_id=commitment.id,
                 details={"evidence_id": evidence.id, "value": data.value})
    revision.bump(session=session, letter_id=letter.id)  # shown on the public page
    return evidence


def get_evidence(*, session: Session, letter: Letter, commitment_id: int, evidence_id: int) -> CommitmentEvidence:
    get_commitment(session=session, letter=letter, commitment_id=commitment_id)
    evidence = session.get(CommitmentEvidence, evidence_id)
    if evidence is None or evidence.commitment_id != commitment_id:
        raise NotFound("There is no such update on this commitment.")
    return evidence


def _evidence_snapshot(e: CommitmentEvidence) -> dict[str, Any]:
    return {"noted_on": e.noted_on.isoformat(), "value": e.value, "link": e.link, "note": e.note}


def edit_update(*, session: Session, letter: Letter, commitment_id: int, evidence_id: int, data: UpdateData,
                user: User) -> CommitmentEvidence:
    """Corrects an evidence update; what it said before is kept as a revision, shown beside it."""
    tracking.require(session=session, letter=letter, user=user, action=Action.record_response)
    evidence = get_evidence(session=session, letter=letter, commitment_id=commitment_id, evidence_id=evidence_id)
    before = _evidence_snapshot(evidence)
    after = {"noted_on": data.noted_on.isoformat(), "value": data.value, "link": data.link, "note": data.note}
    if before == after:
        return evidence
    session.add(EvidenceRevision(evidence_id=evidence.id, snapshot=json.dumps(before),  # type: ignore[arg-type]
                                 edited_by_id=user.id))
    evidence.noted_on, evidence.value, evidence.link = data.noted_on, data.value, data.link
    evidence.note = data.note
    session.add(evidence)
    session.flush()
    audit.record(session=session, action="commitment_evidence_edited", actor=audit.actor_of(user),
                 actor_user_id=user.id, subject_type="commitment", subject_id=commitment_id,
                 details={"evidence_id": evidence.id, "before": before})
    revision.bump(session=session, letter_id=letter.id)  # shown on the public page
    return evidence


def get_revisions(*, session: Session, evidence_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """The earlier forms of each evidence update, newest first."""
    found: dict[int, list[dict[str, Any]]] = {}
    if evidence_ids:
        for r in session.exec(select(EvidenceRevision).where(col(EvidenceRevision.evidence_id).in_(evidence_ids))
                              .order_by(col(EvidenceRevision.id).desc())):
            found.setdefault(r.evidence_id, []).append(json.loads(r.snapshot) | {"edited_at": r.created_at})
    return found


# What is shown ----------------------------------------------------------------------------------------------

@dataclass
class Tracked:
    """A commitment with its source, numbers, evidence and standing, ready to show."""

    commitment: Commitment
    response: Response | None
    recipient: Recipient | None
    document: PublicDocument | None
    measure: CommitmentMeasure | None
    evidence: list[CommitmentEvidence]
    revisions: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    standing: computed.Standing | None = None
    chart: Markup | None = None

    @property
    def source_text(self) -> str:
        if self.document is not None:
            d = self.document
            return f"{d.title} ({d.publisher}, {d.published_on.day} {d.published_on:%B %Y})"
        if self.response is not None:
            r = self.response
            who = f" of {self.recipient.name}" if self.recipient else ""
            return f"The reply{who} of {r.received_on.day} {r.received_on:%B %Y}"
        return ""

    @property
    def source_url(self) -> str | None:
        if self.document is not None:
            return self.document.url
        return self.response.source_url if self.response is not None else None

    def fmt(self, value: float | None) -> str:
        if value is None or self.measure is None:
            return ""
        return str(formatter(self.measure)(value))

    @property
    def points(self) -> list[computed.Point]:
        return [computed.Point(e.noted_on, e.value) for e in self.evidence if e.value is not None]


def _plan(measure: CommitmentMeasure) -> computed.Plan:
    return computed.Plan(direction=measure.direction, target_value=measure.target_value, target_on=measure.target_on,
                         baseline_value=measure.baseline_value, baseline_on=measure.baseline_on)


def standing_of(*, measure: CommitmentMeasure, evidence: list[CommitmentEvidence], status: str,
                today: date) -> computed.Standing:
    return computed.compute(plan=_plan(measure), today=today, status=status, fmt=formatter(measure),
                            points=[computed.Point(e.noted_on, e.value) for e in evidence if e.value is not None])


def get_tracked(*, session: Session, letter: Letter, public_only: bool = False, on: date | None = None,
                commitment_id: int | None = None, charts: bool = True) -> list[Tracked]:
    """Every commitment of the letter (from responses and from public documents), oldest source first."""
    on = on or tracking.today()
    from_responses = select(Commitment, Response, Recipient).join(
        Response, col(Response.id) == Commitment.response_id).join(
        LetterRecipient, col(LetterRecipient.id) == Response.letter_recipient_id).join(
        Recipient, col(Recipient.id) == LetterRecipient.recipient_id).where(LetterRecipient.letter_id == letter.id)
    if public_only:
        from_responses = from_responses.where(col(Response.is_public).is_(True))
    from_documents = select(Commitment, PublicDocument).join(
        PublicDocument, col(PublicDocument.id) == Commitment.document_id).where(PublicDocument.letter_id == letter.id)
    if commitment_id is not None:
        from_responses = from_responses.where(Commitment.id == commitment_id)
        from_documents = from_documents.where(Commitment.id == commitment_id)
    rows: list[tuple[date, int, int, Tracked]] = []
    for c, r, rec in session.exec(from_responses).all():
        rows.append((r.received_on, c.position, c.id or 0, Tracked(c, r, rec, None, None, [])))
    for c, d in session.exec(from_documents).all():
        rows.append((d.published_on, c.position, c.id or 0, Tracked(c, None, None, d, None, [])))
    rows.sort(key=lambda row: row[:3])
    found = [row[3] for row in rows]
    ids = [t.commitment.id for t in found]
    if not ids:
        return []
    measures = {m.commitment_id: m for m in session.exec(select(CommitmentMeasure)
                                                         .where(col(CommitmentMeasure.commitment_id).in_(ids)))}
    evidence: dict[int, list[CommitmentEvidence]] = {}
    for e in session.exec(select(CommitmentEvidence).where(col(CommitmentEvidence.commitment_id).in_(ids))
                          .order_by(col(CommitmentEvidence.noted_on), col(CommitmentEvidence.id))):
        evidence.setdefault(e.commitment_id, []).append(e)
    revisions = get_revisions(session=session, evidence_ids=[e.id for es in evidence.values() for e in es
                                                             if e.id is not None])
    for t in found:
        cid = t.commitment.id or 0
        t.measure = measures.get(cid)
        t.evidence = evidence.get(cid, [])
        t.revisions = {e.id: revisions[e.id] for e in t.evidence if e.id in revisions}
        if t.measure is not None:
            t.standing = standing_of(measure=t.measure, evidence=t.evidence, status=t.commitment.status, today=on)
            if charts:
                t.chart = chart.render(t, today=on)
    return found


def timeline_entries(*, session: Session, letter: Letter, public: bool) -> list[tracking.TimelineEntry]:
    """For the letter's timeline: commitments from public documents, and the figures reported on any commitment.

    (Commitments from responses, and their status changes, are already there: see responses.timeline.timeline.)
    """
    entries: list[tracking.TimelineEntry] = []
    for t in get_tracked(session=session, letter=letter, public_only=public, charts=False):
        anchor = f"commitment-{t.commitment.id}"
        if t.document is not None:
            d = t.document
            entries.append(tracking.TimelineEntry(d.published_on, None, "commitment",
                                                   f"Commitment in “{d.title}” ({d.publisher}): {t.commitment.text}",
                                                   "", anchor=anchor))
        for e in t.evidence:
            if e.value is not None:
                entries.append(tracking.TimelineEntry(
                    e.noted_on, e.created_at, "commitment",
                    f"Figure reported: {t.fmt(e.value)} for “{t.commitment.text}”", e.note, anchor=anchor))
            if e.status_to and t.document is not None:
                entries.append(tracking.TimelineEntry(
                    e.noted_on, e.created_at, "commitment",
                    f"Commitment {e.status_to.replace('_', ' ')}: {t.commitment.text}", e.note, anchor=anchor))
    return entries


def fingerprint_parts(*, session: Session, letter: Letter) -> list[str]:
    """What changes the public page when commitments change (for the published page's ETag)."""
    tracked = get_tracked(session=session, letter=letter, public_only=True, charts=False)
    parts = [str(len(tracked))]
    for t in tracked:
        parts.append(f"{t.commitment.id}:{t.commitment.updated_at}:{t.measure.updated_at if t.measure else ''}")
        parts.extend(f"{e.id}:{e.updated_at}" for e in t.evidence)
        if t.document is not None:
            parts.append(str(t.document.updated_at))
    return parts


# Reminders -------------------------------------------------------------------------------------------------------

def _months_before(day: date, months: int) -> date:
    month = day.month - months
    year = day.year + (month - 1) // 12
    month = (month - 1) % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def due_reminders(*, tracked: Tracked, on: date, silence_months: int) -> list[tuple[str, date]]:
    """The reminders a measured commitment calls for on `on`: (kind, the date the event is keyed by)."""
    measure, commitment = tracked.measure, tracked.commitment
    if measure is None or commitment.status in ("met", "missed", "dropped"):
        return []
    found: list[tuple[str, date]] = []
    if on > measure.target_on:
        found.append((AlertKind.TARGET_PASSED, measure.target_on))
    dated = [e.noted_on for e in tracked.evidence if e.value is not None]
    last = max(dated) if dated else (measure.baseline_on or commitment.created_at.date())
    if last <= _months_before(on, silence_months):
        found.append((AlertKind.NO_EVIDENCE, last))
    return found


def check_reminders(*, session: Session, silence_months: int, on: date | None = None) -> int:
    """The daily job: tells the lead when a target date passes, or a measured commitment has gone quiet.

    Once per event: the CommitmentAlert row is unique and written in the same transaction as the queued mail.
    """
    on = on or tracking.today()
    months = silence_months
    sent = 0
    letter_ids = set(session.exec(select(PublicDocument.letter_id)).all()) | set(session.exec(
        select(LetterRecipient.letter_id).join(Response, col(Response.letter_recipient_id) == LetterRecipient.id)
        .join(Commitment, col(Commitment.response_id) == Response.id)
        .join(CommitmentMeasure, col(CommitmentMeasure.commitment_id) == Commitment.id)).all())
    for letter_id in sorted(letter_ids):
        letter = session.get(Letter, letter_id)
        if letter is None or letter.status == "archived":
            continue
        for t in get_tracked(session=session, letter=letter, on=on, charts=False):
            for kind, about_on in due_reminders(tracked=t, on=on, silence_months=months):
                exists = session.exec(select(CommitmentAlert.id).where(CommitmentAlert.commitment_id == t.commitment.id)
                                      .where(CommitmentAlert.kind == kind)
                                      .where(CommitmentAlert.about_on == about_on)).first()
                if exists is not None:
                    continue
                try:
                    with session.begin_nested():
                        session.add(CommitmentAlert(commitment_id=t.commitment.id, kind=kind,  # type: ignore[arg-type]
                                                    about_on=about_on, alerted_at=utcnow()))
                        session.flush()
                except IntegrityError:
                    continue  # another worker got there first
                for address in tracking.lead_emails(session=session, letter=letter):
                    mail.enqueue(session=session, to=address, template="commitment_reminder",
                                 context={"letter": letter, "commitment": t.commitment, "measure": t.measure,
                                          "kind": str(kind), "about_on": about_on, "months": months,
                                          "target": t.fmt(t.measure.target_value if t.measure else None),
                                          "standing": t.standing},
                                 dedupe_key=f"commitment:{t.commitment.id}:{kind}:{about_on.isoformat()}:{address}")
                sent += 1
    return sent
