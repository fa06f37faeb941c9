"""The press pack's files, built by the worker for a letter's public revision, and served as files; and the
coalition's PDF of the letter as it stands (kind `staff`, below), built by the same rows and worker.

A change to anything public about a letter queues a build (`revision.bump`); the worker claims it (one UPDATE
whose row count says who won, so two workers never build the same one), builds every file of the pack and
writes each under the media folder with a name made of its SHA-256 (written to a temporary name, then renamed:
a reader sees a whole file or none, and two builders of the same bytes write the same file). The row then holds
the list of files for that revision. A download reads that list and answers with the file.

PDFs are rendered in a `ProcessPoolExecutor` started for the build and shut down after it (its processes forked
from a fork server that has WeasyPrint imported already), while the build makes the other files: WeasyPrint's
memory goes back to the system, and no rendering process outlives the build, whether it succeeded or not. A
build that fails is retried with a growing delay, `DOCUMENT_MAX_ATTEMPTS` times, and its error is shown on the
publish page.

A request never builds. A download of a pack not built yet asks for it at once (the build skips the wait that
gathers a burst of changes) and waits for a worker, reading the build's row, up to `DOCUMENT_WAIT_SECONDS`; then it
is a 503 with Retry-After. On the embedded default the worker is a thread of `undersigned serve` itself.

Nothing here reads the environment: the media folder and the settings come from the caller (the route's
`SettingsDep`, the worker's settings).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import secrets
import shutil
import stat
import time
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from sqlalchemy import Engine, bindparam, case, or_, update
from sqlalchemy import select as select_columns
from sqlmodel import Session, col, select

from backend.commitments import export as commitments_export
from backend.config import Settings
from backend.db import as_utc, first_row, session_for_write, utcnow
from backend.errors import NotFound, ServiceError
from backend.letters import service as letters
from backend.letters.models import Letter
from backend.letters.pdf import letter_html, render_pdfs, rendering_pdfs
from backend.publishing import pack
from backend.publishing.enums import DocumentKind, DocumentStatus
from backend.publishing.models import DocumentBuild
from backend.publishing.revision import bump, queue
from backend.signatures import listing

log = logging.getLogger(__name__)

LEASE_SECONDS = 600
FOLDER = "documents"


class DocumentsNotReady(ServiceError):
    """The pack of this revision is not built yet (or its build failed and waits to be tried again)."""

    status_code = 503

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after  # seconds, for the Retry-After header


# Building -----------------------------------------------------------------------------------------------

def _store(data: bytes, suffix: str, media_dir: Path) -> str:
    """Writes the bytes under the media folder, named by their SHA-256; returns the path relative to it."""
    digest = hashlib.sha256(data).hexdigest()
    relative = f"{FOLDER}/{digest[:2]}/{digest}{suffix}"
    path = media_dir / relative
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
    return relative


def build_files(*, session: Session, letter: Letter, embargoed: bool, settings: Settings) -> dict[str, str]:
    """Builds the pack as the letter is now; {public name: path under the media folder} of each file."""
    ctx = pack.context(session=session, letter=letter, embargoed=embargoed)
    htmls = [pack.letter_pdf_html(session=session, ctx=ctx), pack.press_release_html(ctx=ctx)]
    with rendering_pdfs(htmls, settings=settings) as pdfs:  # the other files are made while the PDFs render
        made = {"letter.docx": pack.letter_docx(ctx=ctx), "press-release.docx": pack.press_release_docx(ctx=ctx),
                "signatories.csv": pack.signatories_csv(ctx=ctx).encode("utf-8"),
                "commitments.csv": commitments_export.commitments_csv(ctx.view.measured).encode("utf-8")}
        made["letter.pdf"], made["press-release.pdf"] = pdfs()
    media_dir = Path(settings.media_dir)
    files = {name: made[name] for name in pack.PACK_FILES if name in made}  # in the pack's order
    logo_paths = pack.logo_files(ctx=ctx, media_dir=media_dir)
    names = [*files, *(f"logos/{n}" for n in logo_paths)]
    files["README.txt"] = pack.readme(ctx=ctx, files=names).encode("utf-8")
    out = io.BytesIO()
    prefix = f"{letter.slug}-press-pack/"
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(prefix + "README.txt", files["README.txt"])
        for name, data in files.items():
            if name != "README.txt":
                archive.writestr(prefix + name, data)
        for name, path in logo_paths.items():  # PNGs are compressed already
            archive.write(path, prefix + f"logos/{name}", compress_type=zipfile.ZIP_STORED)
    stored = {name: _store(data, Path(name).suffix, media_dir) for name, data in files.items()}
    stored[pack.ZIP_NAME] = _store(out.getvalue(), ".zip", media_dir)
    media = media_dir.resolve()
    for name, path in logo_paths.items():  # stored logos are never rewritten: the pack points at them
        stored[f"logos/{name}"] = str(path.resolve().relative_to(media))
    return stored


def _claimable(now: datetime) -> Any:
    queued = (col(DocumentBuild.status) == "queued") & (col(DocumentBuild.not_before) <= now)
    expired = (col(DocumentBuild.status) == "building") & (col(DocumentBuild.lease_until) < now)
    return or_(queued, expired)


def due(*, session: Session) -> list[int]:
    """The builds a worker may take now."""
    stmt = select(DocumentBuild.id).where(_claimable(utcnow())).order_by(col(DocumentBuild.id))
    return [int(i) for i in session.exec(stmt) if i is not None]


def claim(*, engine: Engine, build_id: int) -> bool:
    """Takes a build for this process, if nobody else has: one UPDATE, and its row count says who won."""
    now = utcnow()
    with session_for_write(engine) as session:
        result = session.execute(
            update(DocumentBuild).where(col(DocumentBuild.id) == build_id)
            .where(_claimable(now))
            .values(status="building", lease_until=now + timedelta(seconds=LEASE_SECONDS),
                    attempts=DocumentBuild.attempts + 1, updated_at=now))
        session.commit()
        return bool(getattr(result, "rowcount", 0) == 1)


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


def run(*, engine: Engine, build_id: int, settings: Settings) -> bool:
    """Builds a claimed build and records the result (a failure is retried later); whether it was built."""
    attempts = 0
    try:
        with Session(engine, expire_on_commit=False) as reader:
            row = reader.get(DocumentBuild, build_id)
            letter = reader.get(Letter, row.letter_id) if row is not None else None
            if row is None or letter is None:
                return False
            revision, attempts = letter.public_revision, row.attempts
            if row.kind == DocumentKind.staff:
                files = _build_staff_pdf(session=reader, letter=letter, settings=settings)
            else:
                files = build_files(session=reader, letter=letter, embargoed=row.kind == DocumentKind.embargoed,
                                    settings=settings)
    except Exception as exc:
        log.exception("building the documents of build %s failed", build_id)
        failed = attempts >= settings.document_max_attempts
        with session_for_write(engine) as session:
            session.execute(update(DocumentBuild).where(col(DocumentBuild.id) == build_id).values(
                status="failed" if failed else "queued", lease_until=None, not_before=utcnow() + _backoff(attempts),
                last_error=f"{type(exc).__name__}: {exc}"[:2000], updated_at=utcnow()))
            session.commit()
        return False
    now = utcnow()
    with session_for_write(engine) as session:
        newer = col(DocumentBuild.wanted_revision) > revision
        session.execute(update(DocumentBuild).where(col(DocumentBuild.id) == build_id).values(
            files=json.dumps(files, sort_keys=True), built_revision=revision, built_at=now, last_error="",
            lease_until=None, updated_at=now,
            status=case((newer, "queued"), else_="built"),
            attempts=case((newer, DocumentBuild.attempts), else_=0)))
        session.commit()
    return True


def build_due(engine: Engine, settings: Settings) -> int:
    """The worker's job: builds what is due (press packs and the coalitions' PDFs), one at a time; how many were
    built."""
    with Session(engine) as reader:
        ids = due(session=reader)
    built = 0
    for build_id in ids:
        if claim(engine=engine, build_id=build_id):
            built += run(engine=engine, build_id=build_id, settings=settings)
    return built


# Serving --------------------------------------------------------------------------------------------------

@dataclass
class Status:
    """How a letter's documents stand, for the publish page."""

    kind: str
    state: str  # "ready" | "building" | "failed" (retrying) | "gave_up"
    attempts: int
    last_error: str
    built_at: datetime | None


def status_of(*, session: Session, letter: Letter) -> list[Status]:
    rows = session.exec(select(DocumentBuild).where(col(DocumentBuild.letter_id) == letter.id)
                        .order_by(col(DocumentBuild.kind))).all()
    found = []
    for row in rows:
        if row.kind == DocumentKind.staff:  # built when asked for, not for each revision
            ready = row.status == DocumentStatus.built
        else:
            ready = row.built_revision is not None and row.built_revision >= letter.public_revision
        if row.status == "failed":
            state = "gave_up"
        elif ready:
            state = "ready"
        elif row.last_error:
            state = "failed"
        else:
            state = "building"
        found.append(Status(kind=row.kind, state=state, attempts=row.attempts, last_error=row.last_error,
                            built_at=as_utc(row.built_at)))
    return found


POLL_SECONDS = 0.2  # how often a waiting download reads the build's row
_ROW = select_columns(*(col(c) for c in (
    DocumentBuild.id, DocumentBuild.status, DocumentBuild.wanted_revision, DocumentBuild.built_revision,
    DocumentBuild.files, DocumentBuild.last_error, DocumentBuild.not_before)))


def _read(engine: Engine, letter_id: int, kind: str) -> Any:
    with engine.connect() as connection:
        return connection.execute(_ROW.where(col(DocumentBuild.letter_id) == letter_id)
                                  .where(col(DocumentBuild.kind) == kind)).first()


def _ask_now(engine: Engine, *, letter_id: int, kind: str, revision: int, row: Any) -> None:
    """Someone is waiting: the build of this revision is wanted now (queued if it is not, and the wait that gathers
    a burst of changes skipped), never sooner than the delay before a retry."""
    now = utcnow()
    with session_for_write(engine) as session:
        if row is None or row.wanted_revision < revision:
            queue(session=session, letter_id=letter_id, kind=kind, revision=revision, delay=0)
        else:
            session.execute(update(DocumentBuild).where(col(DocumentBuild.id) == row.id)
                            .where(col(DocumentBuild.status) == "queued").where(col(DocumentBuild.last_error) == "")
                            .where(col(DocumentBuild.not_before) > now).values(not_before=now))
        session.commit()


def _not_built(row: Any, *, what: str) -> DocumentsNotReady:
    """The 503 for a build that failed: Retry-After when the worker tries it again (an hour once it gave up)."""
    if row.status == DocumentStatus.failed:
        retry_after = 3600
    else:
        retry_after = max(30, int(((as_utc(row.not_before) or utcnow()) - utcnow()).total_seconds()))
    return DocumentsNotReady(f"{what} could not be built. The coalition has been told on its publish page; please "
                             "try again later.", retry_after=retry_after)


def files_for(*, engine: Engine, letter: Letter, kind: str, wait_seconds: float) -> dict[str, str]:
    """The built files of the letter's current revision, waiting up to `wait_seconds` for a worker to build them;
    DocumentsNotReady (a 503 with Retry-After) if it has not, or if their build failed."""
    assert letter.id is not None
    revision = letter.public_revision
    deadline = time.monotonic() + wait_seconds
    asked = False
    while True:
        row = _read(engine, letter.id, kind)
        if row is not None and row.built_revision is not None and row.built_revision >= revision:
            files: dict[str, str] = json.loads(row.files)
            return files
        if row is not None and row.wanted_revision >= revision and row.last_error:
            raise _not_built(row, what="The press pack")
        if not asked:
            _ask_now(engine, letter_id=letter.id, kind=kind, revision=revision, row=row)
            asked = True
            continue
        if time.monotonic() >= deadline:
            raise DocumentsNotReady("The press pack is being prepared. Please try again in a minute.",
                                    retry_after=30)
        time.sleep(POLL_SECONDS)


# The coalition's PDF (`/letters/{slug}/pdf`) ---------------------------------------------------------------------
# The letter as it stands, in any status: its HTML is cheap to render, so a request renders it and looks for the PDF
# of that HTML, stored as documents/staff/<letter id>/<SHA-256 of the HTML>.pdf; it is served at once if built.
# Otherwise the request asks for a build (the letter's `staff` row of document_build, claimed, retried and reported
# like the press pack's) and waits for it. The worker renders the letter's HTML as it stands when it builds, stores
# the PDF under that HTML's name and keeps only the letter's newest; an erasure deletes the folder (`discard`).

STAFF_FOLDER = f"{FOLDER}/staff"
STAFF_PDF = "letter.pdf"


def _staff_folder(media_dir: Path, letter_id: int) -> Path:
    return media_dir / STAFF_FOLDER / str(letter_id)


def staff_pdf_html(*, session: Session, letter: Letter) -> str | None:
    """The HTML of the coalition's PDF: the current text with the signatories listed now (as the PDF sent to the
    recipients); None while the letter has no text."""
    version = letters.current_version(session=session, letter=letter)
    if version is None:
        return None
    return letter_html(session=session, letter=letter, version=version,
                       signatures=listing.get_listed(session=session, letter=letter))


def _staff_pdf_path(media_dir: Path, letter_id: int, html: str) -> Path:
    return _staff_folder(media_dir, letter_id) / f"{hashlib.sha256(html.encode('utf-8')).hexdigest()}.pdf"


def _build_staff_pdf(*, session: Session, letter: Letter, settings: Settings) -> dict[str, str]:
    """The worker's half: the PDF of the letter as it stands, written atomically; only the newest is kept."""
    assert letter.id is not None
    html = staff_pdf_html(session=session, letter=letter)
    if html is None:
        raise NotFound("This letter has no saved text yet, so there is no PDF.")
    [pdf] = render_pdfs([html], settings=settings)
    media_dir = Path(settings.media_dir)
    path = _staff_pdf_path(media_dir, letter.id, html)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    tmp.write_bytes(pdf)
    os.replace(tmp, path)
    for older in path.parent.glob("*.pdf"):  # only the newest is kept
        if older.name != path.name:
            older.unlink(missing_ok=True)
    return {STAFF_PDF: path.relative_to(media_dir).as_posix()}


def _ask_for_staff_pdf(engine: Engine, *, letter: Letter, row: Any) -> None:
    """Someone is waiting for the PDF of the letter as it stands: queued now, unless a build is queued or under
    way already (or waits to be retried: DocumentsNotReady)."""
    assert letter.id is not None
    if row is not None and row.status == DocumentStatus.queued and row.last_error:
        raise _not_built(row, what="The PDF")
    if row is not None and row.status in (DocumentStatus.queued, DocumentStatus.building):
        _ask_now(engine, letter_id=letter.id, kind=DocumentKind.staff, revision=letter.public_revision, row=row)
        return
    with session_for_write(engine) as session:  # none yet, built for an earlier state, or given up: again
        queue(session=session, letter_id=letter.id, kind=DocumentKind.staff, revision=letter.public_revision,
              delay=0)
        session.commit()


def staff_pdf(*, engine: Engine, session: Session, letter: Letter, settings: Settings) -> Path:
    """The coalition's PDF of the letter as it stands: served if built, else built by a worker while this waits
    (up to `DOCUMENT_WAIT_SECONDS`; then DocumentsNotReady). The session is closed before any wait."""
    assert letter.id is not None
    html = staff_pdf_html(session=session, letter=letter)
    if html is None:
        raise NotFound("This letter has no saved text yet, so there is no PDF.")
    session.close()  # the wait holds no connection and no transaction (the letter keeps what was loaded)
    pdf = _staff_pdf_path(Path(settings.media_dir), letter.id, html)
    deadline = time.monotonic() + settings.document_wait_seconds
    asked = False
    while not pdf.is_file():
        row = _read(engine, letter.id, DocumentKind.staff)
        if not asked:
            _ask_for_staff_pdf(engine, letter=letter, row=row)
            asked = True
            continue
        if row is not None and row.last_error and row.status != DocumentStatus.building:
            raise _not_built(row, what="The PDF")
        if time.monotonic() >= deadline:
            raise DocumentsNotReady("The PDF is being prepared. Please try again in a minute.", retry_after=30)
        time.sleep(POLL_SECONDS)
    return pdf


@dataclass(frozen=True)
class BuiltFile:
    """A built document on disk, with what a file response needs to know of it."""

    path: Path
    stat: os.stat_result


def path_of(files: Mapping[str, str], name: str, media_dir: Path) -> BuiltFile | None:
    """The file of a built pack by its public name, or None."""
    relative = files.get(name)
    if relative is None:
        return None
    path = media_dir / relative
    try:
        found = os.stat(path)
    except OSError:
        return None
    return BuiltFile(path, found) if stat.S_ISREG(found.st_mode) else None


# A download of a published letter's pack, once built for its current revision: one statement, built once and run
# on a pooled DB-API connection (`backend.db.first_row`), the public page's way.
_PUBLIC_BUILD = (select_columns(col(DocumentBuild.files))
                 .select_from(Letter).join(DocumentBuild, col(DocumentBuild.letter_id) == Letter.id)
                 .where(col(Letter.slug) == bindparam("slug")).where(col(Letter.status) == "published")
                 .where(col(DocumentBuild.kind) == "public")
                 .where(col(DocumentBuild.built_revision) >= Letter.public_revision))


def built_public_file(*, engine: Engine, slug: str, name: str, media_dir: Path) -> BuiltFile | None:
    """A file of a published letter's public pack when the pack is built for the letter's current revision;
    None otherwise (not published, not built yet, no such file): the caller then takes the path that waits."""
    row = first_row(engine, _PUBLIC_BUILD, {"slug": slug})
    return None if row is None else path_of(_files_of(row[0]), name, media_dir)


@lru_cache(maxsize=64)
def _files_of(stored: str) -> Mapping[str, str]:
    """A build's map of files as stored (JSON), read once per map: a pack of 2,000 signatories names ~500 files,
    and parsing them took a download ~150 µs. Keyed by the text itself, so a new build is read anew."""
    return MappingProxyType(json.loads(stored))


def discard(*, session: Session, letter_id: int, media_dir: Path) -> None:
    """Deletes the files built for this letter and queues new builds (an erasure: nothing built before it may be
    served again). Logos are the signatories' stored files, not copies, and are left to their owners."""
    for row in session.exec(select(DocumentBuild).where(col(DocumentBuild.letter_id) == letter_id)):
        for relative in json.loads(row.files).values():
            if relative.startswith(f"{FOLDER}/"):
                (media_dir / relative).unlink(missing_ok=True)
        row.files, row.built_revision = "{}", None
        session.add(row)
    shutil.rmtree(_staff_folder(media_dir, letter_id), ignore_errors=True)
    bump(session=session, letter_id=letter_id)
