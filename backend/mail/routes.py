"""The development mailbox: every outbox message, readable with its links (development only)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from backend.db import SessionDep
from backend.mail import service
from backend.web import render

router = APIRouter(prefix="/dev/mailbox")


@router.get("", response_class=HTMLResponse, name="mailbox")
def mailbox(request: Request, session: SessionDep) -> HTMLResponse:
    return render(request, "mail/mailbox.html", {"emails": service.get_recent(session=session)})


@router.get("/{email_id}", response_class=HTMLResponse, name="mailbox_message")
def message(request: Request, session: SessionDep, email_id: int) -> HTMLResponse:
    email = service.get(session=session, email_id=email_id)
    if email is None:
        raise HTTPException(404, "There is no message with that number in the mailbox.")
    attachments = service.get_attachments(session=session, email_id=email_id)
    return render(request, "mail/message.html", {"email": email, "attachments": attachments})


@router.get("/{email_id}/html", name="mailbox_message_html")
def message_html(session: SessionDep, email_id: int) -> Response:
    """The HTML part alone, shown in a sandboxed frame so its markup cannot run scripts here."""
    email = service.get(session=session, email_id=email_id)
    if email is None:
        raise HTTPException(404, "There is no message with that number in the mailbox.")
    return Response(
        email.html, media_type="text/html",
        headers={"Content-Security-Policy": "sandbox allow-popups allow-top-navigation-by-user-activation; "
                 "default-src 'none'; img-src data:; style-src 'unsafe-inline'",
                 "X-Frame-Options": "SAMEORIGIN"},
    )


@router.get("/{email_id}/attachments/{attachment_id}", name="mailbox_attachment")
def attachment(session: SessionDep, email_id: int, attachment_id: int) -> Response:
    for item in service.get_attachments(session=session, email_id=email_id):
        if item.id == attachment_id:
            return Response(item.data, media_type=item.content_type,
                            headers={"Content-Disposition": f'attachment; filename="{item.filename}"'})
    raise HTTPException(404, "There is no such attachment.")
