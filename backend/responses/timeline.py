"""What happened to the letter, oldest first, and the public replies in full with their commitments."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from markupsafe import Markup
from sqlmodel import Session, select

from backend.commitments import service as measured
from backend.letters import service as letters
from backend.letters.markdown import render_pasted
from backend.letters.models import Letter, Recipient
from backend.responses import workdays
from backend.responses.models import Commitment, Response
from backend.responses.pledges import get_commitments
from backend.responses.replies import author_line, get_responses, has_own_author
from backend.responses.tracking import CHANNEL_LABELS, KIND_LABELS, TimelineEntry, get_tracked, today
from backend.signatures.models import Signature


def timeline(*, session: Session, letter: Letter, public: bool, on: date | None = None) -> list[TimelineEntry]:
    """Everything that happened to the letter, oldest first. `public` leaves out drafts and private responses."""
    on = on or today()
    entries: list[TimelineEntry] = []
    versions = letters.get_versions(session=session, letter_id=letter.id)  # type: ignore[arg-type]
    if versions and not public:
        first = versions[-1]
        entries.append(TimelineEntry(workdays.london_date(first.created_at), first.created_at, "drafted",
                                     "First draft saved", f"{len(versions)} version(s) in all"))
    signed = [s for s in session.exec(select(Signature).where(Signature.letter_id == letter.id)
                                      .where(Signature.status == "approved")) if s.approved_at]
    if signed:
        last = max(s.approved_at for s in signed if s.approved_at)
        entries.append(TimelineEntry(workdays.london_date(last), last, "signatures",
                                     f"{len(signed)} signator{'y' if len(signed) == 1 else 'ies'} approved the letter"))
    for tracked in get_tracked(session=session, letter=letter, on=on):
        for d in tracked.dispatches:
            title = f"Sent to {tracked.recipient.name} {CHANNEL_LABELS[d.channel]}"
            entries.append(TimelineEntry(d.sent_on, d.sent_at, "sent", title + (" (again)" if d.reason else "")))
        link = tracked.link
        if link.due_on:
            entries.append(TimelineEntry(link.due_on, None, "due", f"Reply from {tracked.recipient.name} due",
                                         f"{tracked.recipient.reply_target_days} working days after sending"))
            if tracked.state in ("overdue", "very_overdue"):
                entries.append(TimelineEntry(on, None, tracked.state,
                                             f"Reply from {tracked.recipient.name} is "
                                             f"{'very overdue' if tracked.state == 'very_overdue' else 'overdue'}",
                                             f"{(on - link.due_on).days} days after the due date"))
    for response, recipient in get_responses(session=session, letter=letter, public_only=public):
        title = f"{KIND_LABELS[response.kind]} from {author_line(response, recipient)}"
        if has_own_author(response):
            title += f" (on the letter to {recipient.name})"
        entries.append(TimelineEntry(response.received_on, None, "response", title, response.summary,
                                     anchor=f"response-{response.id}"))
    for commitment, _response, evidence in get_commitments(session=session, letter=letter, public_only=public):
        entries.append(TimelineEntry(workdays.london_date(commitment.created_at), commitment.created_at,
                                     "commitment", f"Commitment: {commitment.text}",
                                     f"due {commitment.due_on.strftime('%-d %B %Y')}" if commitment.due_on else "",
                                     anchor=f"commitment-{commitment.id}"))
        for e in evidence:
            if e.status_to:
                entries.append(TimelineEntry(e.noted_on, e.created_at, "commitment",
                                             f"Commitment {e.status_to.replace('_', ' ')}: {commitment.text}", e.note,
                                             anchor=f"commitment-{commitment.id}"))
    # Measured commitments (backend/commitments): those from public documents, and the figures reported.
    entries.extend(measured.timeline_entries(session=session, letter=letter, public=public))
    order = {"drafted": 0, "signatures": 1, "sent": 2, "response": 3, "commitment": 4, "due": 5, "overdue": 6,
             "very_overdue": 7}
    return sorted(entries, key=lambda e: (e.on, order.get(e.kind, 9)))


@dataclass(frozen=True)
class PublicReply:
    """A public response in full, as the public page and the API show it."""

    response: Response
    recipient: Recipient
    author: str
    kind_label: str
    body_html: Markup
    commitments: list[Commitment]


def public_replies(*, session: Session, letter: Letter) -> list[PublicReply]:
    """The public responses with their full text (line breaks kept) and the commitments made in each."""
    made: dict[int, list[Commitment]] = {}
    for commitment, response, _evidence in get_commitments(session=session, letter=letter, public_only=True):
        made.setdefault(response.id or 0, []).append(commitment)
    return [PublicReply(response=r, recipient=rec, author=author_line(r, rec), kind_label=KIND_LABELS[r.kind],
                        body_html=render_pasted(r.body), commitments=made.get(r.id or 0, []))
            for r, rec in get_responses(session=session, letter=letter, public_only=True)]
