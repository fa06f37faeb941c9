"""Commitments made in responses, and the dated evidence notes that move their status."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session, col, select

from backend.accounts.models import User
from backend.audit import service as audit
from backend.campaigns.policy import Action
from backend.errors import InvalidInput, NotFound
from backend.letters.models import Letter, LetterRecipient
from backend.publishing import revision
from backend.responses import tracking
from backend.responses.enums import CommitmentStatus
from backend.responses.models import COMMITMENT_STATUSES, Commitment, CommitmentEvidence, Response
from backend.responses.replies import get_response
from backend.responses.tracking import today


def add_commitment(
    *, session: Session, letter: Letter, response_id: int, text: str, due_on: date | None, user: User,
) -> Commitment:
    tracking.require(session=session, letter=letter, user=user, action=Action.record_response)
    response, _ = get_response(session=session, letter=letter, response_id=response_id)
    text = " ".join((text or "").split())
    if not text:
        raise InvalidInput("Write what was promised.", field="text")
    if len(text) > 2000:
        raise InvalidInput("The commitment is too long (2,000 characters at most).", field="text")
    count = len(session.exec(select(Commitment.id).where(Commitment.response_id == response.id)).all())
    commitment = Commitment(response_id=response.id, text=text, due_on=due_on, position=count)  # type: ignore[arg-type]
    session.add(commitment)
    session.flush()
    audit.record(session=session, action="commitment_added", actor=audit.actor_of(user),
                 actor_user_id=user.id, subject_type="commitment", subject_id=commitment.id)
    revision.bump(session=session, letter_id=letter.id)
    return commitment


def get_commitment(*, session: Session, letter: Letter, commitment_id: int) -> Commitment:
    row = session.exec(
        select(Commitment)
        .join(Response, col(Response.id) == Commitment.response_id)
        .join(LetterRecipient, col(LetterRecipient.id) == Response.letter_recipient_id)
        .where(Commitment.id == commitment_id)
        .where(LetterRecipient.letter_id == letter.id)
    ).first()
    if row is None:
        raise NotFound("There is no such commitment on this letter.")
    return row


def update_commitment(
    *, session: Session, letter: Letter, commitment_id: int, status: str, note: str, link: str = "",
    noted_on: date | None = None, user: User,
) -> CommitmentEvidence:
    """Adds a dated evidence note, changing the status when a new one is given."""
    tracking.require(session=session, letter=letter, user=user, action=Action.record_response)
    commitment = get_commitment(session=session, letter=letter, commitment_id=commitment_id)
    if noted_on is not None and noted_on > today():
        raise InvalidInput("The date of the note cannot be in the future.", field="noted_on")
    if status not in COMMITMENT_STATUSES:
        raise InvalidInput("Choose a status from the list.", field="status")
    note = (note or "").strip()
    if not note:
        raise InvalidInput("Write a note saying what happened (and add a link to the evidence if there is one).",
                           field="note")
    link = (link or "").strip()
    if link and (not link.startswith(("https://", "http://")) or len(link) > 1000):
        raise InvalidInput("Enter the evidence link as a web address starting with https://.", field="link")
    evidence = CommitmentEvidence(
        commitment_id=commitment.id,  # type: ignore[arg-type]
        noted_on=noted_on or today(), note=note[:2000], link=link or None,
        status_from=commitment.status if status != commitment.status else None,
        status_to=CommitmentStatus(status) if status != commitment.status else None, created_by_id=user.id,
    )
    commitment.status = CommitmentStatus(status)
    session.add(commitment)
    session.add(evidence)
    session.flush()
    revision.bump(session=session, letter_id=letter.id)
    return evidence


def get_commitments(*, session: Session, letter: Letter, public_only: bool = False,
                    ) -> list[tuple[Commitment, Response, list[CommitmentEvidence]]]:
    stmt = (
        select(Commitment, Response)
        .join(Response, col(Response.id) == Commitment.response_id)
        .join(LetterRecipient, col(LetterRecipient.id) == Response.letter_recipient_id)
        .where(LetterRecipient.letter_id == letter.id)
        .order_by(col(Response.received_on), col(Commitment.position))
    )
    if public_only:
        stmt = stmt.where(col(Response.is_public).is_(True))
    pairs = session.exec(stmt).all()
    ids = [c.id for c, _ in pairs]
    evidence: dict[int, list[CommitmentEvidence]] = {}
    if ids:
        for e in session.exec(select(CommitmentEvidence).where(col(CommitmentEvidence.commitment_id).in_(ids))
                              .order_by(col(CommitmentEvidence.noted_on), col(CommitmentEvidence.id))):
            evidence.setdefault(e.commitment_id, []).append(e)
    return [(c, r, evidence.get(c.id or 0, [])) for c, r in pairs]
