"""Reading replies from a real IMAP mailbox (dovecot on loopback): stored, matched, moved to the done folder."""

from __future__ import annotations

from imap_tools import MailBoxUnencrypted
from sqlmodel import select

from backend.inbound import sources
from backend.inbound.models import InboundMessage
from tests.inbound.conftest import reply


def test_replies_are_read_from_the_mailbox_and_moved_when_stored(db, sent, engine, settings, imap_server):
    imap = settings.model_copy(update={
        "inbound_imap_host": imap_server.host, "inbound_imap_port": imap_server.port, "inbound_imap_ssl": False,
        "inbound_imap_user": imap_server.user, "inbound_imap_password": imap_server.password,
        "inbound_imap_folder": "INBOX", "inbound_imap_done_folder": "Filed"})
    with MailBoxUnencrypted(imap_server.host, imap_server.port).login(imap_server.user, imap_server.password) as box:
        box.append(reply(to=sent.reply_to, subject="Re: The right to protest (by IMAP)"), "INBOX")
        box.append(reply(to="info@lead.example", subject="Something else"), "INBOX")
    assert sources.poll_imap(engine=engine, settings=imap) == 2
    db.rollback()
    rows = {r.subject: r for r in db.exec(select(InboundMessage))}
    assert rows["Re: The right to protest (by IMAP)"].state == "to_review"
    assert rows["Re: The right to protest (by IMAP)"].letter_recipient_id == sent.link.id
    assert rows["Something else"].state == "holding"
    with MailBoxUnencrypted(imap_server.host, imap_server.port).login(imap_server.user, imap_server.password) as box:
        assert list(box.fetch()) == [], "what was read left the inbox"
        box.folder.set("Filed")
        assert len(list(box.fetch())) == 2
    assert sources.poll_imap(engine=engine, settings=imap) == 0
