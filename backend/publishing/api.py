"""Open data: the JSON API (/api/v1) and the Atom feeds of published letters and their responses."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlmodel import Session, col, select

from backend.commitments import service as measured
from backend.db import SessionDep, as_utc
from backend.letters.models import Letter
from backend.publishing import service
from backend.responses import replies, timeline
from backend.signatures import identity
from backend.templating import Templating

router = APIRouter()
# NUL is refused app-wide with a 400 (backend.security.guard); the schema says so too.
NO_NUL = r"^[^\x00]*$"
api = APIRouter(prefix="/api/v1", tags=["letters"],
                responses={400: {"description": "The request holds a character that cannot be used (NUL) or stored"}})

SearchText = Annotated[str, Query(max_length=200, pattern=NO_NUL)]
Slug = Annotated[str, Path(max_length=200, pattern=NO_NUL)]
Limit = Annotated[int, Query(ge=1, le=200)]


class RecipientOut(BaseModel):
    name: str
    position: str
    organisation: str


class QuoteOut(BaseModel):
    person: str
    role: str
    organisation: str
    text: str


class PressContactOut(BaseModel):
    name: str
    role: str
    organisation: str
    email: str
    phone: str
    out_of_hours_phone: str


class LetterSummary(BaseModel):
    slug: str
    title: str
    url: str
    published_at: datetime | None
    signatory_count: int
    tags: list[str]


class LetterDetail(LetterSummary):
    subject: str
    salutation: str
    body_markdown: str
    sign_off: str
    content_hash: str
    recipients: list[RecipientOut]
    quotes: list[QuoteOut]
    press_contact: PressContactOut | None
    notes_to_editors_markdown: str
    press_pack_url: str


class SignatoryOut(BaseModel):
    position: int
    kind: str
    name: str
    signer_name: str
    signer_role: str
    website: str | None
    city: str | None
    confirmation: str  # "confirmed by an address at cja.org.uk" (the organisation's own domain) or "confirmed by email"
    confirmed_domain: str | None


class ResponseCommitmentOut(BaseModel):
    id: int
    text: str
    due_on: date | None
    status: str


class ResponseOut(BaseModel):
    id: int
    recipient: str
    author: str = Field(description="Who the response is from: its own author, or else the recipient")
    author_name: str
    author_position: str
    author_organisation: str
    received_on: date
    kind: str
    summary: str
    body_markdown: str
    body_html: str = Field(description="The full text as safe HTML, line breaks kept")
    source_url: str | None
    commitments: list[ResponseCommitmentOut] = Field(default_factory=list,
                                                     description="What was promised in this response")


class EvidenceOut(BaseModel):
    noted_on: date
    note: str
    link: str | None
    value: float | None = None  # the figure measured, for a measured commitment


class DocumentOut(BaseModel):
    title: str
    publisher: str
    published_on: date
    url: str


class MeasureOut(BaseModel):
    metric: str
    unit: str  # percent, pounds, count, or other (named in unit_label)
    unit_label: str
    direction: str  # up or down: which way is better
    baseline_value: float | None
    baseline_on: date | None
    baseline_url: str | None
    target_value: float
    target_on: date


class StandingOut(BaseModel):
    state: str  # on_track, behind, met, missed, no_data, dropped
    computed: str  # what the figures alone say
    overridden: bool  # the coalition's own status (met, missed, dropped) decides
    explanation: str
    latest_value: float | None
    latest_on: date | None
    expected_value: float | None  # where the straight line from baseline to target is on latest_on


class CommitmentOut(BaseModel):
    id: int
    response_id: int | None
    document: DocumentOut | None = None
    text: str
    due_on: date | None
    status: str
    evidence: list[EvidenceOut]
    measure: MeasureOut | None = None
    standing: StandingOut | None = None


class CountOut(BaseModel):
    slug: str
    signatory_count: int


def _url(templating: Templating, letter: Letter) -> str:
    return templating.absolute_url_for("letter_public", slug=letter.slug)


def _summary(request: Request, session: Session, letter: Letter) -> LetterSummary:
    return LetterSummary(
        slug=letter.slug, title=letter.title, url=_url(request.app.state.templating, letter),
        published_at=as_utc(letter.published_at),
        signatory_count=service.signature_count(session=session, letter=letter),
        tags=service.letters.get_tags(session=session, letter_id=letter.id),  # type: ignore[arg-type]
    )


@api.get("/letters", response_model=list[LetterSummary], summary="Published letters, newest first")
def api_letters(request: Request, session: SessionDep, q: SearchText = "", recipient: SearchText = "",
                organisation: SearchText = "", tag: SearchText = "", limit: Limit = 100) -> list[LetterSummary]:
    found = service.search(session=session, text=q, recipient=recipient, organisation=organisation, tag=tag,
                           limit=limit)
    return [_summary(request, session, letter) for letter in found]


@api.get("/letters/{slug}", response_model=LetterDetail, summary="One published letter",
         responses={404: {"description": "No published letter with this slug"}})
def api_letter(request: Request, session: SessionDep, slug: Slug) -> LetterDetail:
    letter = service.get_public(session=session, slug=slug)
    view = service.public_view(session=session, letter=letter)
    contact = view.press_contact
    return LetterDetail(
        **_summary(request, session, letter).model_dump(),
        subject=view.version.subject, salutation=view.version.salutation, body_markdown=view.version.body,
        sign_off=view.version.sign_off, content_hash=view.version.content_hash,
        recipients=[RecipientOut(name=r.name, position=r.position, organisation=r.recipient_organisation)
                    for r in view.recipients],
        quotes=[QuoteOut(person=q.person, role=q.role, organisation=q.organisation, text=q.text) for q in view.quotes],
        press_contact=PressContactOut(name=contact.name, role=contact.role, organisation=contact.organisation,
                                      email=contact.email, phone=contact.phone,
                                      out_of_hours_phone=contact.out_of_hours_phone) if contact else None,
        notes_to_editors_markdown=letter.notes_to_editors or "",
        press_pack_url=request.app.state.templating.absolute_url_for("press_pack", slug=letter.slug),
    )


@api.get("/letters/{slug}/signatories", response_model=list[SignatoryOut],
         summary="The signatories of a published letter, in order (never their emails)",
         responses={404: {"description": "No published letter with this slug"}})
def api_signatories(session: SessionDep, slug: Slug) -> list[SignatoryOut]:
    letter = service.get_public(session=session, slug=slug)
    return [SignatoryOut(position=n, kind=s.kind, name=s.display_name, signer_name=s.signer_name,
                         signer_role=s.signer_role, website=s.website, city=s.city,
                         confirmation=identity.confirmation_line(s), confirmed_domain=s.confirmed_domain)
            for n, s in enumerate(service.final_signatures(session=session, letter=letter), start=1)]


@api.get("/letters/{slug}/responses", response_model=list[ResponseOut],
         summary="Public responses to a published letter, oldest first",
         responses={404: {"description": "No published letter with this slug"}})
def api_responses(session: SessionDep, slug: Slug) -> list[ResponseOut]:
    letter = service.get_public(session=session, slug=slug)
    return [ResponseOut(id=p.response.id or 0, recipient=p.recipient.name, author=p.author,
                        author_name=p.response.author_name, author_position=p.response.author_position,
                        author_organisation=p.response.author_organisation, received_on=p.response.received_on,
                        kind=p.response.kind, summary=p.response.summary, body_markdown=p.response.body,
                        body_html=str(p.body_html), source_url=p.response.source_url,
                        commitments=[ResponseCommitmentOut(id=c.id or 0, text=c.text, due_on=c.due_on,
                                                           status=c.status) for c in p.commitments])
            for p in timeline.public_replies(session=session, letter=letter)]


@api.get("/letters/{slug}/commitments", response_model=list[CommitmentOut],
         summary="Commitments made in public responses and public documents, with their numbers, status, "
                 "evidence and computed standing",
         responses={404: {"description": "No published letter with this slug"}})
def api_commitments(session: SessionDep, slug: Slug) -> list[CommitmentOut]:
    letter = service.get_public(session=session, slug=slug)
    return [_commitment_out(t) for t in measured.get_tracked(session=session, letter=letter, public_only=True,
                                                             charts=False)]


def _commitment_out(t: measured.Tracked) -> CommitmentOut:
    c, m, d, s = t.commitment, t.measure, t.document, t.standing
    return CommitmentOut(
        id=c.id or 0, response_id=c.response_id, text=c.text, due_on=c.due_on, status=c.status,
        document=DocumentOut(title=d.title, publisher=d.publisher, published_on=d.published_on, url=d.url)
        if d else None,
        evidence=[EvidenceOut(noted_on=e.noted_on, note=e.note, link=e.link, value=e.value) for e in t.evidence],
        measure=MeasureOut(metric=m.metric, unit=m.unit, unit_label=m.unit_label, direction=m.direction,
                           baseline_value=m.baseline_value, baseline_on=m.baseline_on, baseline_url=m.baseline_url,
                           target_value=m.target_value, target_on=m.target_on) if m else None,
        standing=StandingOut(state=s.state.value, computed=s.computed.value, overridden=s.overridden,
                             explanation=s.explanation, latest_value=s.latest.value if s.latest else None,
                             latest_on=s.latest.on if s.latest else None,
                             expected_value=round(s.expected, 4) if s.expected is not None else None)
        if s else None,
    )


@api.get("/letters/{slug}/count", response_model=CountOut, summary="The live signatory count (cheap to poll)",
         responses={404: {"description": "No published letter with this slug"}})
def api_count(session: SessionDep, slug: Slug, response: Response) -> CountOut:
    letter = service.get_public(session=session, slug=slug)
    response.headers["Cache-Control"] = "public, max-age=15"
    return CountOut(slug=letter.slug, signatory_count=service.signature_count(session=session, letter=letter))


def _iso(value: datetime | None) -> str:
    aware = as_utc(value)
    return aware.isoformat() if aware else "1970-01-01T00:00:00+00:00"


# Atom feeds --------------------------------------------------------------------------------------------------

def _atom(request: Request, name: str, context: dict[str, object]) -> Response:
    templating: Templating = request.app.state.templating
    body = templating.env.get_template(name).render({"settings": templating.settings, **context})
    return Response(body, media_type="application/atom+xml; charset=utf-8",
                    headers={"Cache-Control": "public, max-age=300"})


@router.get("/letters.atom", name="letters_feed", include_in_schema=False)
def letters_feed(request: Request, session: SessionDep) -> Response:
    letters = service.get_published(session=session, limit=50)
    entries = [(letter, service.final_version(session=session, letter=letter), _iso(letter.published_at))
               for letter in letters]
    updated = max((d for d in (as_utc(letter.published_at) for letter in letters) if d is not None), default=None)
    return _atom(request, "publishing/letters_feed.xml", {"entries": entries, "updated": updated})


@router.get("/responses.atom", name="responses_feed", include_in_schema=False)
def responses_feed(request: Request, session: SessionDep) -> Response:
    letters = session.exec(select(Letter).where(Letter.status == "published")
                           .order_by(col(Letter.published_at).desc()).limit(200)).all()
    entries = []
    for letter in letters:
        for r, recipient in replies.get_responses(session=session, letter=letter, public_only=True):
            entries.append((letter, r, recipient))
    entries.sort(key=lambda e: (e[1].received_on, e[1].id or 0), reverse=True)
    entries = entries[:100]
    updated = max((d for d in (as_utc(e[1].updated_at) for e in entries) if d is not None), default=None)
    return _atom(request, "publishing/responses_feed.xml", {"entries": entries, "updated": updated})


router.include_router(api)
