"""The open sign-on form's POST on publication day: answered before the framework, written in batches.

When a letter is shared widely, hundreds of people a second may submit its open sign-on form. Through the full
stack (routing, dependency injection, a thread-pool hop per dependency, one transaction each) one sign-on costs
several milliseconds of a single Python process. `OpenSignOn` answers the common case itself: a well-formed
form with a valid CSRF token and no logo, on an open letter. It runs the same checks as the app (NUL
characters, CSRF, the rate limit, `service.sign_many`) and answers with the route's own redirect. Anything
else (a logo, a mistake in the form, a duplicate, a closed letter, a limit reached, an error) goes on to the
route untouched, with the body as it came, and the route answers as it always does: the lane never answers an
error itself, so every message a person can see comes from one place.

`SignOnWriter` is the one thread that writes these sign-ons. It takes what is waiting, up to `MAX_BATCH`, and
writes it in one transaction, one statement per table (group commit); a refused sign-on writes nothing, so it
leaves the others alone. A transaction per sign-on would pay for BEGIN, COMMIT and the lock each time, and on
PostgreSQL the audit log's advisory lock is held once per batch instead of once per sign-on. A sign-on is
answered 303 only after its batch has committed; if anything unexpected happens, nothing of the batch is
stored and every sign-on of it goes on to the route, which tries it again on its own.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import queue
import re
import threading
from typing import Any
from urllib.parse import parse_qsl

from fastapi import Request
from python_multipart.multipart import MultipartParser, parse_options_header
from sqlalchemy import Connection, Engine
from sqlmodel import Session
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend import ratelimit
from backend.config import get_settings
from backend.db import write_engine
from backend.errors import NotFound, ServiceError
from backend.security import CSRF_FIELD, client_ip, csrf_valid, nul_in_address
from backend.signatures import service

log = logging.getLogger(__name__)

PATH_RE = re.compile(r"^/letters/([a-z0-9][a-z0-9-]{0,199})/sign$")
MAX_BODY = 64 * 1024  # the form without a logo is about 1 KB; a logo goes to the route
MAX_FIELD = 5000  # as the route's fields
MAX_BATCH = 64
# A form-data part's Content-Disposition as browsers write it (names and file names quoted, no backslashes).
_DISPOSITION_RE = re.compile(rb'^ ?form-data; name="([^"\\\r\n]*)"(?:; filename="([^"\\\r\n]*)")? *$')
FIELDS = ("kind", "display_name", "signer_name", "signer_role", "contact_email", "website", "city", "attested",
          "version_id")


class SignOnWriter:
    """One thread that writes queued sign-ons, a batch per transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = write_engine(engine)
        self._queue: queue.SimpleQueue[tuple[str, service.SignatureInput, str, concurrent.futures.Future[Any]]
                                       | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._connection: Connection | None = None

    async def sign(self, *, slug: str, data: service.SignatureInput, ip: str) -> service.Signed:
        """Queues a sign-on and waits for its batch to commit; raises what `service.sign` raised for it."""
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self._ensure_thread()
        self._queue.put((slug, data, ip, future))
        result: service.Signed = await asyncio.wrap_future(future)
        return result

    def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=10)
            self._thread = None
        self._drop_connection()

    def _connect(self) -> Connection:
        """The writer's own connection, kept from batch to batch: checking one out of the pool would cost a
        round trip each time (the pool's ping), and a batch is written every few milliseconds in a storm."""
        if self._connection is None or self._connection.closed or self._connection.invalidated:
            self._connection = self.engine.connect()
        return self._connection

    def _drop_connection(self) -> None:
        if self._connection is not None:
            connection, self._connection = self._connection, None
            try:
                connection.close()
            except Exception:  # a broken connection: the pool discards it
                log.debug("closing the sign-on writer's connection failed", exc_info=True)

    def _ensure_thread(self) -> None:
        if self._thread is None:
            with self._start_lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="sign-on writer", daemon=True)
                    self._thread.start()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < MAX_BATCH:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._queue.put(None)  # stop after this batch
                    break
                batch.append(item)
            self.write(batch)

    def write(self, batch: list[tuple[str, service.SignatureInput, str, concurrent.futures.Future[Any]]]) -> None:
        """Writes a batch in one transaction and settles each sign-on's future once it is committed.

        `service.sign_many` refuses a sign-on (a mistake in the form, a duplicate, a closed letter) before it
        writes anything of it, so the others go on; anything unexpected abandons the whole batch.
        """
        try:
            with Session(self._connect(), expire_on_commit=False) as session:
                letters: dict[str, service.SignOnLetter | None] = {}
                submissions: list[service.SignOn] = []
                missing: dict[int, ServiceError] = {}
                for n, (slug, data, ip, _) in enumerate(batch):
                    if slug not in letters:
                        letters[slug] = service.get_sign_on_letter(session=session, slug=slug)
                    letter = letters[slug]
                    if letter is None:
                        missing[n] = NotFound("There is no letter at this address.")
                    else:
                        submissions.append(service.SignOn(letter=letter, data=data, ip=ip,
                                                          content_hash=letter.version_content_hash))
                outcomes = iter(service.sign_many(session=session, submissions=submissions))
                session.commit()
        except Exception as exc:  # nothing of the batch was stored: each sign-on goes to the route
            self._drop_connection()  # it may be broken (the database restarted, say): the next batch connects
            log.warning("a batch of %d sign-ons was not committed (%s); each goes to the route", len(batch), exc)
            for *_, future in batch:
                future.set_exception(exc)
            return
        for n, (*_, future) in enumerate(batch):
            outcome = missing.get(n) or next(outcomes)
            if isinstance(outcome, ServiceError):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)


class _Form:
    """The fields of a small multipart/form-data body, read with python-multipart (as Starlette does, without
    a temporary file for each file part: the whole body is at most `MAX_BODY` bytes and already in memory)."""

    def __init__(self) -> None:
        self.fields: dict[str, str] = {}
        self.has_file = False
        self.bad = False
        self._header_name = b""
        self._header_value = b""
        self._disposition = b""
        self._data = bytearray()

    def _on_part_begin(self) -> None:
        self._disposition = b""
        self._data = bytearray()

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        self._data += data[start:end]

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _on_header_end(self) -> None:
        if self._header_name.lower() == b"content-disposition":
            self._disposition = self._header_value
        self._header_name = self._header_value = b""

    def _on_part_end(self) -> None:
        _, options = parse_options_header(self._disposition)
        try:
            name = options[b"name"].decode("utf-8")
            if b"filename" in options:
                self.has_file = self.has_file or bool(options[b"filename"]) or bool(self._data)
                return
            value = bytes(self._data).decode("utf-8")
        except (KeyError, UnicodeDecodeError):
            self.bad = True
            return
        self._add(name, value)

    def _add(self, name: str, value: str) -> None:
        if name in self.fields or len(value) > MAX_FIELD or "\x00" in value or "\x00" in name:
            self.bad = True  # the route decides what a repeated, long or NUL field means
        self.fields[name] = value

    @classmethod
    def parse(cls, content_type: bytes, body: bytes) -> _Form | None:
        """The form, or None when it is not one the lane answers (the route will say what is wrong)."""
        if content_type.startswith(b"application/x-www-form-urlencoded"):
            return cls._parse_urlencoded(body)
        _, params = parse_options_header(content_type)
        boundary = params.get(b"boundary")
        if not boundary or params.get(b"charset", b"utf-8").lower() not in (b"utf-8", b"utf8"):
            return None
        form = cls._parse_browser_multipart(boundary, body)
        if form is None:
            return cls._parse_multipart(boundary, body)
        return None if form.bad else form

    @classmethod
    def _parse_browser_multipart(cls, boundary: bytes, body: bytes) -> _Form | None:
        """The multipart body exactly as browsers send this form, read with bytes.split (python-multipart's
        byte-by-byte parser was a sixth of a sign-on's time); None for anything else, which
        `_parse_multipart` reads instead. Each part is `--boundary CRLF headers CRLF CRLF value CRLF`, the
        headers a Content-Disposition `form-data; name="..."` (with `; filename="..."` for the logo) and at
        most a Content-Type; the body ends with `--boundary--`."""
        chunks = (b"\r\n" + body).split(b"\r\n--" + boundary)
        if chunks[0] or not chunks[-1].startswith(b"--") or chunks[-1][2:].strip(b"\r\n"):
            return None
        form = cls()
        for chunk in chunks[1:-1]:
            head, found, value = chunk.partition(b"\r\n\r\n")
            if not found or not head.startswith(b"\r\n"):
                return None
            disposition, typed = None, False
            for line in head[2:].split(b"\r\n"):
                name, colon, text = line.partition(b":")
                name = name.lower()
                if not colon or (name == b"content-disposition" and disposition is not None):
                    return None
                if name == b"content-disposition":
                    disposition = _DISPOSITION_RE.match(text)
                    if disposition is None:
                        return None
                elif name == b"content-type":
                    typed = True
                else:
                    return None
            if disposition is None:
                return None
            field, filename = disposition.group(1), disposition.group(2)
            if filename is not None:
                form.has_file = form.has_file or bool(filename) or bool(value)
                continue
            if typed:
                return None  # a typed text part (a charset?): python-multipart decides
            try:
                form._add(field.decode("utf-8"), value.decode("utf-8"))
            except UnicodeDecodeError:
                return None
        return form

    @classmethod
    def _parse_multipart(cls, boundary: bytes, body: bytes) -> _Form | None:
        form = cls()
        parser = MultipartParser(boundary, {
            "on_part_begin": form._on_part_begin, "on_part_data": form._on_part_data,
            "on_part_end": form._on_part_end, "on_header_field": form._on_header_field,
            "on_header_value": form._on_header_value, "on_header_end": form._on_header_end,
        })
        try:
            parser.write(body)
            parser.finalize()
        except Exception:  # a malformed body
            return None
        return None if form.bad else form

    @classmethod
    def _parse_urlencoded(cls, body: bytes) -> _Form | None:
        form = cls()
        try:
            pairs = parse_qsl(body.decode("ascii"), keep_blank_values=True, strict_parsing=bool(body),
                              encoding="utf-8", errors="strict")
        except (UnicodeDecodeError, ValueError):
            return None
        for name, value in pairs:
            form._add(name, value)
        return None if form.bad else form


def _replay(body: bytes, receive: Receive, more_body: bool) -> Receive:
    """A receive that hands the app the body read so far, then reads on."""
    given = False

    async def replay() -> Message:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": body, "more_body": more_body}
        return await receive()

    return replay


async def _read_body(receive: Receive, limit: int) -> tuple[bytes, bool]:
    """The request body, up to just past `limit` bytes; and whether more is still to come."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), False
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        more = bool(message.get("more_body", False))
        if not more or size > limit:
            return b"".join(chunks), more


class OpenSignOn:
    """Pure ASGI: a good open sign-on is written by the `SignOnWriter` and answered here; the rest goes on."""

    def __init__(self, app: ASGIApp, writer: SignOnWriter, session_cookie: str) -> None:
        self.app = app
        self.writer = writer
        self.session_cookie = f"{session_cookie}=".encode()

    def _ours(self, scope: Scope) -> re.Match[str] | None:
        if scope["type"] != "http" or scope["method"] != "POST":
            return None
        match = PATH_RE.match(scope["path"])
        if match is None:
            return None
        for key, value in scope["headers"]:
            if key == b"cookie" and self.session_cookie in value:
                return None  # someone logged in: the app knows who
            if key == b"content-type" and not value.startswith(
                    (b"multipart/form-data", b"application/x-www-form-urlencoded")):
                return None
        return match

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = self._ours(scope)
        if match is None:
            await self.app(scope, receive, send)
            return
        body, more = await _read_body(receive, MAX_BODY)
        if more or len(body) > MAX_BODY:
            await self.app(scope, _replay(body, receive, more), send)
            return
        request = Request(scope, _replay(body, receive, False))
        response = await self._sign(request, match.group(1), body)
        if response is None:
            await self.app(scope, _replay(body, receive, False), send)
        else:
            await response(scope, receive, send)

    async def _sign(self, request: Request, slug: str, body: bytes) -> Any:
        """The route's redirect after a stored sign-on, or None: the route is to answer."""
        from backend.signatures.routes import signature_input, signed_redirect

        if nul_in_address(request):
            return None  # the app answers 400 (form fields with a NUL are refused by `_Form`)
        form = _Form.parse(request.headers.get("content-type", "").encode("latin-1"), body)
        if form is None or form.has_file:
            return None  # the route reads and cleans logos, and says what is wrong with a form
        sent = request.headers.get("x-csrf-token")  # as `csrf_protect` reads it: the header, else the field
        if not csrf_valid(request.cookies.get(get_settings().csrf_cookie_name),
                          sent if sent is not None else form.fields.get(CSRF_FIELD)):
            return None
        values = {name: form.fields[name] for name in FIELDS if name in form.fields}
        ip = client_ip(request)
        limit = get_settings().rate_limit_sign
        if ratelimit.check(scope="signatures:sign", key=ip, limit=limit) is not None:
            return None  # the route counts it, audits it and answers 429
        try:
            signed = await self.writer.sign(slug=slug, data=signature_input(values, None), ip=ip)
        except Exception:  # a mistake in the form, a duplicate, a closed letter...: the route says so
            return None
        ratelimit.hit(scope="signatures:sign", key=ip, limit=limit)
        return signed_redirect(request, slug=slug, contact_email=signed.contact_email)
