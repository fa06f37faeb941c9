"""A letter sent by email to the Home Office, and replies to it written as a mail client would."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

import pytest
from sqlmodel import select

from backend.db import utcnow

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@dataclass
class Sent:
    lead: Any
    letter: Any
    link: Any
    reply_to: str  # the address the letter email carried
    message_id: str  # the letter email's Message-ID


@pytest.fixture
def sent(db, make_user, smtp, deliver) -> Sent:
    from backend.accounts import service as accounts
    from backend.campaigns import service as campaigns
    from backend.letters import service as letters
    from backend.letters.models import LetterRecipient, Recipient
    from backend.responses import service

    lead = make_user(email="lead@lead.example", name="Lena Lead", organisation="Equal Voices")
    org = accounts.organisations_of(session=db, user_id=lead.id)[0]
    campaign = campaigns.create(session=db, title="Protest rights", lead_organisation=org, created_by=lead)
    letter = letters.create(session=db, campaign=campaign, title="Protect the right to protest")
    letters.save_version(session=db, letter=letter, author_id=lead.id, base_version_id=None,
                         text=letters.LetterText("Dear Home Secretary,", "The right to protest",
                                                 "Please protect it.", "Yours sincerely,"))
    home = Recipient(name="Home Secretary", position="Secretary of State for the Home Department",
                     recipient_organisation="Home Office", email="homesec@homeoffice.example")
    letters.set_recipients(session=db, letter=letter, recipients=[home])
    db.commit()
    link = db.exec(select(LetterRecipient).where(LetterRecipient.letter_id == letter.id)).one()
    service.send(session=db, letter=letter, user=lead, choices=[service.SendChoice(link.id, "email")])
    db.commit()
    deliver()
    [mail] = smtp.wait_for(1, to="homesec@homeoffice.example")
    smtp.clear()
    return Sent(lead, letter, link, str(mail.message["Reply-To"]), str(mail.message["Message-ID"]))


def reply(*, to: str, subject: str = "Re: The right to protest", text: str = "Thank you for your letter.",
          html: str | None = None, headers: dict[str, str] | None = None,
          attachments: list[tuple[str, str, bytes]] | None = None) -> bytes:
    message = EmailMessage()
    message["From"] = "Private Office <private.office@homeoffice.example>"
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = make_msgid(domain="homeoffice.example")
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    for filename, content_type, data in attachments or []:
        maintype, subtype = content_type.split("/", 1)
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return message.as_bytes()
