"""The press pack's files, built by the worker for a letter's public revision, and served as files.

A change to anything public about a letter queues a build (`revision.bump`); the worker claims it (one UPDATE
whose row count says who won, so two workers never build the same one), builds every file of the pack and
writes each under the media folder with a name made of its SHA-256 (written to a temporary name, then renamed:
a reader sees a whole file or none, and two builders of the same bytes write the same file). The row then holds
the list of files for that revision. A download reads that list and answers with the file.

PDFs are rendered in a `ProcessPoolExecutor` started for the build and shut down after it: WeasyPrint's memory
goes back to the system, and no process outlives the build, whether it succeeded or not. A build that fails is
retried with a growing delay, `DOCUMENT_MAX_ATTEMPTS` times, and its error is shown on the publish page.

A request never builds. A download of a pack not built yet asks for it at once (the build skips the wait that
gathers a burst of changes) and waits for a worker, reading the build's row, up to `DOCUMENT_WAIT_SECONDS`; then it
is a 503 with Retry-After. On the embedded default the worker is a thread of `undersigned serve` itself.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import secrets
import shutil
import time
import zipfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, case, or_, update
from sqlalchemy import select as select_columns
from sqlmodel import Session, col, select

from backend.commitments import export as commitments_export
from backend.config import get_settings
from backend.db import as_utc, session_for_write, utcnow
from backend.errors import NotFound, ServiceError
from backend.letters import service as letters
from backend.letters.models import Letter
from backend.letters.pdf import letter_html, render_pdfs
from backend.publishing import pack
from backend.publishing.models import DocumentBuild
from backend.publishing.revision import bump, queue
from backend.signatures import service as signatures

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

def _store(data: bytes, suffix: str) -> str:
    """Writes the bytes under the media folder, named by their SHA-256; returns the path relative to it."""
    digest = hashlib.sha256(data).hexdigest()
    relative = f"{FOLDER}/{digest[:2]}/{digest}{suffix}"
    path = Path(get_settings().media_dir) / relative
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
    return relative


def build_files(*, session: Session, letter: Letter, embargoed: bool) -> dict[str, str]:
    """Builds the pack as the letter is now; {public name: path under the media folder} of each file."""
    ctx = pack.context(session=session, letter=letter, embargoed=embargoed)
    htmls = [pack.letter_pdf_html(session=session, ctx=ctx), pack.press_release_html(ctx=ctx)]
    pdf_letter, pdf_release = render_pdfs(htmls)
    files = {"letter.pdf": pdf_letter, "letter.docx": pack.letter_docx(ctx=ctx), "press-release.pdf": pdf_release,
             "press-release.docx": pack.press_release_docx(ctx=ctx),
             "signatories.csv": pack.signatories_csv(ctx=ctx).encode("utf-8"),
             "commitments.csv": commitments_export.commitments_csv(ctx.view.measured).encode("utf-8")}
    logo_paths = pack.logo_files(ctx=ctx)
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
    stored = {name: _store(data, Path(name).suffix) for name, data in files.items()}
    stored[pack.ZIP_NAME] = _store(out.getvalue(), ".zip")
    media = Path(get_settings().media_dir).resolve()
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


def run(*, engine: Engine, build_id: int) -> bool:
    """Builds a claimed build and records the result (a failure is retried later); whether it was built."""
    attempts = 0
    try:
        with Session(engine, expire_on_commit=False) as reader:
            row = reader.get(DocumentBuild, build_id)
            letter = reader.get(Letter, row.letter_id) if row is not None else None
            if row is None or letter is None:
                return False
            revision, attempts = letter.public_revision, row.attempts
            files = build_files(session=reader, letter=letter, embargoed=row.kind == "embargoed")
    except Exception as exc:
        log.exception("building the documents of build %s failed", build_id)
        failed = attempts >= get_settings().document_max_attempts
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


def build_due(engine: Engine) -> int:
    """The worker's job: builds what is due, one at a time, and the coalitions' PDFs asked for; how many were
    built."""
    with Session(engine) as reader:
        ids = due(session=reader)
    built = 0
    for build_id in ids:
        if claim(engine=engine, build_id=build_id):
            built += run(engine=engine, build_id=build_id)
    return built + build_staff_pdfs()


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
        if row.status == "failed":
            state = "gave_up"
        elif row.built_revision is not None and row.built_revision >= letter.public_revision:
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
            if row.status == "failed":
                retry_after = 3600
            else:
                retry_after = max(30, int(((as_utc(row.not_before) or utcnow()) - utcnow()).total_seconds()))
            raise DocumentsNotReady("The press pack could not be built. The coalition has been told on its publish "
                                    "page; please try again later.", retry_after=retry_after)
        if not asked:
            _ask_now(engine, letter_id=letter.id, kind=kind, revision=revision, row=row)
            asked = True
            continue
        if time.monotonic() >= deadline:
            raise DocumentsNotReady("The press pack is being prepared. Please try again in a minute.",
                                    retry_after=30)
        time.sleep(POLL_SECONDS)


# The coalition's PDF (`/letters/{slug}/pdf`) ---------------------------------------------------------------------
# The letter as it stands, in any status: the request renders its HTML (cheap) and names the PDF by the HTML's
# SHA-256; a PDF of that name is served at once. Otherwise the request leaves the HTML for the worker
# (documents/staff/<letter id>/<sha>.html, written atomically) and waits for the PDF. A worker takes a request by
# renaming it (one rename succeeds), renders it, and keeps only the letter's newest PDF; an erasure deletes the
# letter's folder (`discard`). No table: the file names are the state.

STAFF_FOLDER = f"{FOLDER}/staff"


def _staff_folder(letter_id: int) -> Path:
    return Path(get_settings().media_dir) / STAFF_FOLDER / str(letter_id)


def staff_pdf_html(*, session: Session, letter: Letter) -> str | None:
    """The HTML of the coalition's PDF: the current text with the signatories listed now (as the PDF sent to the
    recipients); None while the letter has no text."""
    version = letters.current_version(session=session, letter=letter)
    if version is None:
        return None
    return letter_html(session=session, letter=letter, version=version,
                       signatures=signatures.get_listed(session=session, letter=letter))


def ask_for_staff_pdf(*, letter_id: int, html: str) -> Path:
    """The path the PDF of this HTML has (or will have once a worker has built it: asked for here if need be)."""
    digest = hashlib.sha256(html.encode("utf-8")).hexdigest()
    folder = _staff_folder(letter_id)
    pdf = folder / f"{digest}.pdf"
    if pdf.is_file() or any(folder.glob(f"{digest}.*")):  # built, asked for, being built, or failed
        return pdf
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{digest}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    tmp.write_text(html, encoding="utf-8")
    os.replace(tmp, folder / f"{digest}.html")
    return pdf


def staff_pdf(*, session: Session, letter: Letter, wait_seconds: float) -> Path:
    """The coalition's PDF of the letter as it stands: served if built, else built by a worker while this waits
    (up to `wait_seconds`; then DocumentsNotReady). The session is closed before any wait."""
    assert letter.id is not None
    html = staff_pdf_html(session=session, letter=letter)
    if html is None:
        raise NotFound("This letter has no saved text yet, so there is no PDF.")
    session.close()  # the wait holds no connection and no transaction (the letter keeps what was loaded)
    pdf = ask_for_staff_pdf(letter_id=letter.id, html=html)
    failed = pdf.with_suffix(".failed")
    deadline = time.monotonic() + wait_seconds
    while not pdf.is_file():
        if failed.is_file():
            failed.unlink(missing_ok=True)  # the next click asks again
            raise DocumentsNotReady("The PDF could not be built. Please try again in a minute.", retry_after=30)
        if time.monotonic() >= deadline:
            raise DocumentsNotReady("The PDF is being prepared. Please try again in a minute.", retry_after=30)
        time.sleep(POLL_SECONDS)
    return pdf


def build_staff_pdfs() -> int:
    """The worker's half: renders every PDF asked for; how many were built."""
    built = 0
    root = Path(get_settings().media_dir) / STAFF_FOLDER
    for claimed in root.glob("*/*.building"):  # a worker that died mid-build: asked for again after the lease
        if time.time() - claimed.stat().st_mtime > LEASE_SECONDS:
            os.replace(claimed, claimed.with_name(claimed.name.split(".")[0] + ".html"))
    for asked in sorted(root.glob("*/*.html")):
        claimed = asked.with_name(f"{asked.stem}.{os.getpid()}.{secrets.token_hex(4)}.building")
        try:
            os.rename(asked, claimed)
        except FileNotFoundError:  # another worker took it
            continue
        try:
            [pdf] = render_pdfs([claimed.read_text(encoding="utf-8")])
            tmp = claimed.with_name(f".{asked.stem}.pdf.tmp")
            tmp.write_bytes(pdf)
            os.replace(tmp, asked.with_suffix(".pdf"))
            for older in asked.parent.glob("*.pdf"):  # only the newest is kept
                if older.name != f"{asked.stem}.pdf":
                    older.unlink(missing_ok=True)
            built += 1
        except Exception as exc:
            log.exception("rendering the PDF %s failed", asked.name)
            asked.with_suffix(".failed").write_text(f"{type(exc).__name__}: {exc}"[:2000], encoding="utf-8")
        finally:
            claimed.unlink(missing_ok=True)
    return built


def path_of(files: dict[str, str], name: str) -> Path | None:
    """The file of a built pack by its public name, or None."""
    relative = files.get(name)
    if relative is None:
        return None
    path = Path(get_settings().media_dir) / relative
    return path if path.is_file() else None


def discard(*, session: Session, letter_id: int) -> None:
    """Deletes the files built for this letter and queues new builds (an erasure: nothing built before it may be
    served again). Logos are the signatories' stored files, not copies, and are left to their owners."""
    media = Path(get_settings().media_dir)
    for row in session.exec(select(DocumentBuild).where(col(DocumentBuild.letter_id) == letter_id)):
        for relative in json.loads(row.files).values():
            if relative.startswith(f"{FOLDER}/"):
                (media / relative).unlink(missing_ok=True)
        row.files, row.built_revision = "{}", None
        session.add(row)
    shutil.rmtree(_staff_folder(letter_id), ignore_errors=True)
    bump(session=session, letter_id=letter_id)
