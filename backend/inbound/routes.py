"""Replies by email: reviewing one on its letter, the holding pen, and downloads (raw message, attachments)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.responses import Response as HttpResponse
from sqlmodel import Session

from backend.accounts.deps import CurrentUser
from backend.accounts.models import User
from backend.campaigns.policy import Action, Permissions
from backend.db import SessionDep
from backend.deps import SettingsDep
from backend.errors import InvalidInput, NotFound
from backend.forms import DeclaredForm
from backend.inbound import service
from backend.inbound.models import InboundMessage, InboundState
from backend.letters.models import Letter, Recipient
from backend.responses import replies, tracking
from backend.responses.models import RESPONSE_KINDS
from backend.web import flash, render

router = APIRouter()


class FileForm(DeclaredForm):
    """Filing a reply: what kind it is, a one-line summary, whether it is public."""

    kind: str = ""
    summary: str = ""
    is_public: str = ""  # the ticked box sends "yes"


class AssignForm(DeclaredForm):
    """Putting a held message on a letter recipient."""

    letter_recipient_id: str = ""

KIND_CHOICES = [(k, tracking.KIND_LABELS[k]) for k in RESPONSE_KINDS] + [
    (service.AUTO_REPLY_KIND, "Automatic reply (out of office): not an answer")]


def _download(data: bytes, filename: str, media_type: str) -> HttpResponse:
    """A file from a sender, only ever as a download: never shown inline, never sniffed."""
    return HttpResponse(data, media_type=media_type, headers={
        "Content-Disposition": f'attachment; filename="{filename}"', "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox", "Cache-Control": "private, no-store"})


# On a letter --------------------------------------------------------------------------------------------

def _review_page(request: Request, session: Session, letter: Letter, perms: Permissions, message: InboundMessage,
                 recipient: Recipient, errors: dict[str, str] | None = None,
                 values: dict[str, str] | None = None, status_code: int = 200) -> HTMLResponse:
    return render(request, "inbound/review.html", {
        "letter": letter, "message": message, "recipient": recipient,
        "attachments": service.attachments_of(session=session, message=message),
        "can_file": perms.file_reply and message.state == InboundState.to_review,
        "is_auto": bool(message.auto_reply), "kinds": KIND_CHOICES, "errors": errors or {},
        "values": values or {"kind": service.AUTO_REPLY_KIND if message.auto_reply else "",
                             "summary": message.subject},
    }, status_code=status_code)


def _one(session: Session, letter: Letter, message_id: int) -> tuple[InboundMessage, Recipient]:
    message, link = service.get_for_letter(session=session, letter=letter, message_id=message_id)
    recipient = session.get(Recipient, link.recipient_id)
    assert recipient is not None
    return message, recipient


@router.get("/letters/{slug}/inbound/{message_id}", response_class=HTMLResponse, name="inbound_review")
def review(request: Request, session: SessionDep, user: CurrentUser, slug: str, message_id: int) -> HTMLResponse:
    letter, perms = tracking.letter_for(session=session, slug=slug, user=user, action=Action.record_response)
    message, recipient = _one(session, letter, message_id)
    return _review_page(request, session, letter, perms, message, recipient)


@router.post("/letters/{slug}/inbound/{message_id}/file", name="inbound_file")
def file_reply(request: Request, session: SessionDep, settings: SettingsDep, user: CurrentUser,
               form: Annotated[FileForm, Form()], slug: str, message_id: int) -> HttpResponse:
    letter, perms = tracking.letter_for(session=session, slug=slug, user=user, action=Action.file_reply)
    message, recipient = _one(session, letter, message_id)
    kind, summary, public = form.kind, form.summary, form.is_public == "yes"
    try:
        service.file(session=session, letter=letter, message=message, kind=kind, summary=summary,
                     is_public=public, user=user, settings=settings)
    except (InvalidInput, replies.ResponseErrors) as exc:
        session.rollback()
        errors = exc.errors if isinstance(exc, replies.ResponseErrors) else {exc.field or "kind": exc.message}
        message, recipient = _one(session, letter, message_id)
        return _review_page(request, session, letter, perms, message, recipient, errors,
                            {"kind": kind, "summary": summary, "is_public": "yes" if public else ""}, 422)
    session.commit()
    if message.response_id is not None:
        flash(request, f"The reply from {recipient.name} is filed as a "
                       f"{tracking.KIND_LABELS[kind].lower()}.", "success")
        return RedirectResponse(f"/letters/{letter.slug}/responses/{message.response_id}", status_code=303)
    flash(request, f"The automatic reply from {recipient.name} is filed; it does not count as an answer.", "success")
    return RedirectResponse(f"/letters/{letter.slug}/tracking", status_code=303)


@router.post("/letters/{slug}/inbound/{message_id}/discard", name="inbound_discard_on_letter")
def discard_on_letter(request: Request, session: SessionDep, user: CurrentUser, slug: str,
                      message_id: int) -> HttpResponse:
    letter, _ = tracking.letter_for(session=session, slug=slug, user=user, action=Action.file_reply)
    message, _recipient = _one(session, letter, message_id)
    service.discard(session=session, message=message, user=user)
    session.commit()
    flash(request, "The message is discarded.", "success")
    return RedirectResponse(f"/letters/{letter.slug}/tracking", status_code=303)


@router.get("/letters/{slug}/inbound/{message_id}/raw", name="inbound_raw")
def raw_on_letter(session: SessionDep, user: CurrentUser, slug: str, message_id: int) -> HttpResponse:
    letter, _ = tracking.letter_for(session=session, slug=slug, user=user, action=Action.record_response)
    message, _recipient = _one(session, letter, message_id)
    return _download(message.raw, f"reply-{message.id}.eml", "message/rfc822")


@router.get("/letters/{slug}/inbound/{message_id}/attachments/{attachment_id}", name="inbound_attachment")
def attachment_on_letter(session: SessionDep, user: CurrentUser, slug: str, message_id: int,
                         attachment_id: int) -> HttpResponse:
    letter, _ = tracking.letter_for(session=session, slug=slug, user=user, action=Action.record_response)
    message, _recipient = _one(session, letter, message_id)
    return _attachment(session, message, attachment_id)


def _attachment(session: Session, message: InboundMessage, attachment_id: int) -> HttpResponse:
    for item in service.attachments_of(session=session, message=message):
        if item.id == attachment_id:
            return _download(item.data, item.filename, item.content_type)
    raise NotFound("There is no such attachment.")


# The holding pen -----------------------------------------------------------------------------------------

def _pen_page(request: Request, session: Session, user: User, errors: dict[str, str] | None = None,
              status_code: int = 200) -> HTMLResponse:
    held = service.holding(session=session, user=user)
    return render(request, "inbound/holding.html", {
        "held": [(m, service.attachments_of(session=session, message=m)) for m in held],
        "targets": service.assignable(session=session, user=user), "errors": errors or {},
    }, status_code=status_code)


@router.get("/inbound", response_class=HTMLResponse, name="inbound_holding")
def holding_pen(request: Request, session: SessionDep, user: CurrentUser) -> HTMLResponse:
    return _pen_page(request, session, user)


@router.post("/inbound/{message_id}/assign", name="inbound_assign")
def assign(request: Request, session: SessionDep, user: CurrentUser, form: Annotated[AssignForm, Form()],
           message_id: int) -> HttpResponse:
    message = service.get_held(session=session, message_id=message_id, user=user)
    raw = form.letter_recipient_id
    try:
        link = service.assign(session=session, message=message,
                              letter_recipient_id=int(raw) if raw.isdigit() else 0, user=user)
    except InvalidInput as exc:
        session.rollback()
        return _pen_page(request, session, user, {f"assign-{message_id}": exc.message}, 422)
    session.commit()
    letter = session.get(Letter, link.letter_id)
    assert letter is not None
    flash(request, "The message is now on the letter, to review.", "success")
    return RedirectResponse(f"/letters/{letter.slug}/inbound/{message.id}", status_code=303)


@router.post("/inbound/{message_id}/discard", name="inbound_discard")
def discard(request: Request, session: SessionDep, user: CurrentUser, message_id: int) -> HttpResponse:
    message = service.get_held(session=session, message_id=message_id, user=user)
    service.discard(session=session, message=message, user=user)
    session.commit()
    flash(request, "The message is discarded.", "success")
    return RedirectResponse("/inbound", status_code=303)


@router.get("/inbound/{message_id}/raw", name="inbound_held_raw")
def held_raw(session: SessionDep, user: CurrentUser, message_id: int) -> HttpResponse:
    message = service.get_held(session=session, message_id=message_id, user=user)
    return _download(message.raw, f"message-{message.id}.eml", "message/rfc822")


@router.get("/inbound/{message_id}/attachments/{attachment_id}", name="inbound_held_attachment")
def held_attachment(session: SessionDep, user: CurrentUser, message_id: int, attachment_id: int) -> HttpResponse:
    return _attachment(session, service.get_held(session=session, message_id=message_id, user=user), attachment_id)
