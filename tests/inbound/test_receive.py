"""Replies file themselves: matched by the reply address or the thread, auto-replies recognised, unmatched mail
held, attachments limited, text trimmed and never HTML, one function for every source."""

from __future__ import annotations

import smtplib

import pytest
from sqlmodel import select

from backend.config import get_settings
from backend.inbound import service, sources
from backend.inbound.models import InboundAttachment, InboundMessage
from backend.mail.models import OutboundEmail
from backend.responses.models import Response
from tests.inbound.conftest import PDF, reply


def _messages(db) -> list[InboundMessage]:
    db.rollback()
    db.expire_all()
    return list(db.exec(select(InboundMessage).order_by(InboundMessage.id)))


def test_a_reply_to_the_letters_address_waits_on_its_letter_and_the_lead_is_told(db, sent, engine):
    text = ("Thank you for your letter. The Home Secretary will reply in full.\n\n"
            "On Tue, 1 Dec 2026 at 10:00, Undersigned <no-reply@undersigned.test> wrote:\n> Dear Home Secretary,\n"
            "> Please protect it.\n")
    sources.take(settings=get_settings(),
                 engine=engine, raw=reply(to=sent.reply_to, text=text), source="smtp", envelope_to=[sent.reply_to])
    [row] = _messages(db)
    assert (row.state, row.matched_by, row.letter_recipient_id) == ("to_review", "address", sent.link.id)
    assert row.from_address == "private.office@homeoffice.example"
    assert row.text == "Thank you for your letter. The Home Secretary will reply in full."
    assert row.raw.startswith(b"From: Private Office") or b"Private Office" in row.raw
    [told] = db.exec(select(OutboundEmail).where(OutboundEmail.template == "inbound_to_review")).all()
    assert told.to_address == "lead@lead.example" and f"/inbound/{row.id}" in told.text
    assert db.exec(select(Response)).all() == [], "nothing is an answer before the lead files it"


def test_the_token_matches_whatever_case_the_address_arrives_in(db, sent, engine):
    shouted = sent.reply_to.upper()
    sources.take(settings=get_settings(), engine=engine, raw=reply(to=shouted), source="imap")
    [row] = _messages(db)
    assert row.state == "to_review" and row.letter_recipient_id == sent.link.id


def test_a_reply_from_another_address_is_matched_by_in_reply_to(db, sent, engine):
    raw = reply(to="undersigned@lead.example", headers={"In-Reply-To": sent.message_id,
                                                        "References": sent.message_id})
    sources.take(settings=get_settings(), engine=engine, raw=raw, source="imap")
    [row] = _messages(db)
    assert (row.state, row.matched_by, row.letter_recipient_id) == ("to_review", "in-reply-to", sent.link.id)


def test_unmatched_mail_goes_to_the_holding_pen_and_tells_nobody(db, sent, engine):
    sources.take(settings=get_settings(),
                 engine=engine, raw=reply(to="reply+00000000000000000000000000000000@undersigned.test"),
                 source="smtp")
    [row] = _messages(db)
    assert row.state == "holding" and row.letter_recipient_id is None
    assert db.exec(select(OutboundEmail).where(OutboundEmail.template == "inbound_to_review")).all() == []


@pytest.mark.parametrize("headers,subject", [
    ({"Auto-Submitted": "auto-replied"}, "Re: The right to protest"),
    ({}, "Automatic reply: The right to protest"),
    ({"X-Autoreply": "yes"}, "Re: The right to protest"),
])
def test_an_automatic_reply_is_filed_as_such_and_never_counts(db, sent, engine, headers, subject):
    sources.take(settings=get_settings(), engine=engine, raw=reply(to=sent.reply_to, subject=subject, headers=headers,
                                          text="I am out of the office until Monday."), source="smtp")
    [row] = _messages(db)
    assert row.state == "filed" and row.auto_reply
    db.refresh(sent.link)
    assert sent.link.reply_status == "awaiting"
    assert db.exec(select(Response)).all() == []
    assert db.exec(select(OutboundEmail).where(OutboundEmail.template == "inbound_to_review")).all() == []


def test_html_only_reply_becomes_plain_text(db, sent, engine):
    message = reply(to=sent.reply_to)
    from email import message_from_bytes, policy

    parsed = message_from_bytes(message, policy=policy.default)
    parsed.clear_content()
    parsed.set_content("<html><head><style>p{color:red}</style><script>alert(1)</script></head><body>"
                       "<p>We <b>received</b> your letter.</p><p>Regards,<br>Private Office</p>"
                       "<img src=x onerror=alert(2)></body></html>", subtype="html")
    sources.take(settings=get_settings(), engine=engine, raw=parsed.as_bytes(), source="smtp")
    [row] = _messages(db)
    assert row.from_html
    assert row.text == "We received your letter.\n\nRegards,\nPrivate Office"


def test_attachments_are_kept_within_limits_with_safe_names(db, sent, engine, settings, monkeypatch):
    monkeypatch.setattr(settings, "inbound_attachment_max_bytes", 1024)
    raw = reply(to=sent.reply_to, attachments=[
        ("../../etc/Réponse officielle.pdf", "application/pdf", PDF),
        ("evil.exe", "application/octet-stream", b"MZ" + b"\0" * 10),
        ("fake.pdf", "application/pdf", b"<html>not a pdf</html>"),
        ("big.pdf", "application/pdf", PDF + b"\0" * 2048),
    ])
    sources.take(settings=get_settings(), engine=engine, raw=raw, source="smtp")
    [row] = _messages(db)
    [kept] = db.exec(select(InboundAttachment)).all()
    assert kept.filename == "Reponse officielle.pdf" and kept.data == PDF
    assert "evil.exe" in row.notes and "fake.pdf" in row.notes and "big.pdf" in row.notes


def test_a_message_over_the_size_limit_is_refused(db, engine, settings, monkeypatch):
    monkeypatch.setattr(settings, "inbound_max_bytes", 2000)
    with pytest.raises(service.MessageTooLarge):
        sources.take(settings=get_settings(),
                     engine=engine, raw=reply(to="x@example.org", text="x" * 5000), source="smtp")
    assert _messages(db) == []


def test_the_smtp_listener_stores_the_reply_and_refuses_what_is_too_big(db, sent, engine, settings):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    small = settings.model_copy(update={"inbound_max_bytes": 50_000})
    for lmtp in (False, True):
        controller = sources.listener(engine=engine, settings=small, host="127.0.0.1", port=port, lmtp=lmtp)
        controller.start()
        try:
            client = smtplib.LMTP("127.0.0.1", port) if lmtp else smtplib.SMTP("127.0.0.1", port)
            with client:
                client.sendmail("private.office@homeoffice.example", [sent.reply_to],
                                reply(to=sent.reply_to, subject=f"Re: via {'LMTP' if lmtp else 'SMTP'}"))
                with pytest.raises(smtplib.SMTPException):
                    client.sendmail("private.office@homeoffice.example", [sent.reply_to],
                                    reply(to=sent.reply_to, text="x" * 60_000))
        finally:
            controller.stop()
    rows = _messages(db)
    assert [r.subject for r in rows] == ["Re: via SMTP", "Re: via LMTP"]
    assert [r.source for r in rows] == ["smtp", "lmtp"]
    assert all(r.state == "to_review" and r.envelope_to == sent.reply_to for r in rows)


def test_the_same_message_twice_is_stored_once(db, sent, engine):
    raw = reply(to=sent.reply_to)
    first = sources.take(settings=get_settings(), engine=engine, raw=raw, source="imap")
    assert sources.take(settings=get_settings(), engine=engine, raw=raw, source="imap") == first
    assert len(_messages(db)) == 1


def test_quoted_history_is_trimmed():
    outlook = ("Dear Ms Lead,\nWe will respond shortly.\n\nFrom: Undersigned <no-reply@x.example>\n"
               "Sent: 01 December 2026 10:00\nTo: Home Secretary\nSubject: The right to protest\n\nDear...")
    assert service.trim_quoted(outlook) == "Dear Ms Lead,\nWe will respond shortly."
    gmail = "Noted.\n\nOn Tue, 1 Dec 2026 at 10:00, Undersigned <\nno-reply@x.example> wrote:\n> text"
    assert service.trim_quoted(gmail) == "Noted."
    assert service.trim_quoted("Yes.\n-----Original Message-----\nold") == "Yes."


@pytest.mark.real_commits
def test_the_command_takes_one_message_from_a_file(db, sent, tmp_path, capsys):
    from backend.cli import main

    path = tmp_path / "reply.eml"
    path.write_bytes(reply(to=sent.reply_to, subject="Re: by a pipe"))
    assert main(["inbound", "file", str(path)]) == 0
    assert "Stored as inbound message" in capsys.readouterr().out
    [row] = _messages(db)
    assert row.subject == "Re: by a pipe" and row.state == "to_review" and row.source == "file"
