"""Where replies come from: an IMAP mailbox the charity already has, or an SMTP/LMTP listener for a subdomain
routed to it. Both hand each raw message to `service.receive` in a transaction of its own."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP
from imap_tools import MailBox, MailBoxUnencrypted
from sqlalchemy import Engine

from backend.config import Settings
from backend.db import session_for_write
from backend.inbound import service

log = logging.getLogger(__name__)


def take(*, engine: Engine, raw: bytes, source: str, settings: Settings, envelope_to: list[str] | None = None) -> int:
    """Stores one message and commits; returns its row id."""
    with session_for_write(engine) as session:
        row = service.receive(session=session, raw=raw, source=source, settings=settings, envelope_to=envelope_to)
        session.commit()
        assert row.id is not None
        log.info("inbound mail %s from %r: %s", row.id, row.from_address, row.state)
        return row.id


# SMTP / LMTP --------------------------------------------------------------------------------------------

class Handler:
    """aiosmtpd handler: each accepted message is stored before the server answers 250, so a relay that gets
    250 knows the reply is kept; anything else is a 4xx and the relay tries again."""

    def __init__(self, engine: Engine, source: str, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings
        self.source = source

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = bytes(envelope.original_content or envelope.content or b"")
        try:
            await asyncio.to_thread(take, engine=self.engine, raw=raw, source=self.source, settings=self.settings,
                                    envelope_to=list(envelope.rcpt_tos))
        except service.MessageTooLarge as exc:
            return f"552 5.3.4 Message too big: {exc}"
        except Exception:
            log.exception("inbound mail could not be stored")
            return "451 4.3.0 Could not store the message now; try again later"
        return "250 2.0.0 Message accepted"


class _Listener(Controller):
    def __init__(self, handler: Handler, *, lmtp: bool, data_size_limit: int, **kwargs: Any) -> None:
        self.lmtp = lmtp
        self.data_size_limit = data_size_limit
        super().__init__(handler, **kwargs)

    def factory(self) -> SMTP:
        cls = LMTP if self.lmtp else SMTP
        return cls(self.handler, data_size_limit=self.data_size_limit, enable_SMTPUTF8=True)


def listener(*, engine: Engine, settings: Settings, host: str | None = None,
             port: int | None = None, lmtp: bool | None = None) -> Controller:
    """An SMTP (or LMTP) server for replies; call start() and stop()."""
    use_lmtp = settings.inbound_listen_lmtp if lmtp is None else lmtp
    return _Listener(Handler(engine, "lmtp" if use_lmtp else "smtp", settings), lmtp=use_lmtp,
                     data_size_limit=settings.inbound_max_bytes,
                     hostname=host or settings.inbound_listen_host, port=port or settings.inbound_listen_port)


# IMAP ---------------------------------------------------------------------------------------------------

def poll_imap(*, engine: Engine, settings: Settings) -> int:
    """Reads every message in the folder, stores it, and moves it to the done folder; returns how many."""
    if not (settings.inbound_imap_host and settings.inbound_imap_user):
        raise RuntimeError("Set INBOUND_IMAP_HOST, INBOUND_IMAP_USER and INBOUND_IMAP_PASSWORD to read replies "
                           "from a mailbox.")
    box = (MailBox(settings.inbound_imap_host, settings.inbound_imap_port) if settings.inbound_imap_ssl
           else MailBoxUnencrypted(settings.inbound_imap_host, settings.inbound_imap_port))
    taken = 0
    with box.login(settings.inbound_imap_user, settings.inbound_imap_password or "",
                   initial_folder=settings.inbound_imap_folder) as mailbox:
        done = settings.inbound_imap_done_folder
        if not mailbox.folder.exists(done):
            mailbox.folder.create(done)
        for message in mailbox.fetch(mark_seen=False, bulk=20):
            if message.uid is None:
                continue
            try:
                take(engine=engine, raw=message.obj.as_bytes(), source="imap", settings=settings)
                taken += 1
            except service.MessageTooLarge as exc:
                log.warning("inbound mail uid %s left out: %s (moved to %s unread)", message.uid, exc, done)
            mailbox.move(message.uid, done)  # stored first: a crash before this only fetches it again
    return taken


def run_imap_forever(*, engine: Engine, stop: threading.Event, settings: Settings) -> None:
    while not stop.is_set():
        try:
            poll_imap(engine=engine, settings=settings)
        except Exception:
            log.exception("reading the IMAP mailbox failed; trying again in %s s", settings.inbound_imap_poll_seconds)
        stop.wait(settings.inbound_imap_poll_seconds)
