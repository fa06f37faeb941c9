"""A letter's public revision: the services bump it whenever anything public about the letter changes.

The public page, its ETag and its share image are cached by it, and the press pack is built for it: a bump on a
letter that is published (or scheduled, for the embargoed pack) queues a build of its documents. The build
waits `DOCUMENT_COALESCE_SECONDS`, so that a burst of changes (a lead approving forty signatures) is built once.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key
from sqlmodel import Session, col, select

from backend.config import Settings
from backend.db import utcnow
from backend.letters.models import Letter, LetterRecipient
from backend.publishing.models import DocumentBuild
from backend.templating import current

# One Core statement, built once: the new revision and what decides which documents to queue (RETURNING, on
# SQLite 3.35+ and PostgreSQL). Core, not the ORM's bulk UPDATE: that one also evaluates the change against every
# letter the session holds, which cost a confirmation more than the statement itself.
_letters = Letter.__table__  # type: ignore[attr-defined]
_BUMP = (update(_letters).where(_letters.c.id == bindparam("letter_id"))
         .values(public_revision=_letters.c.public_revision + 1)
         .returning(_letters.c.status, _letters.c.embargo_at, _letters.c.public_revision))


def bump(*, session: Session, letter_id: int | None) -> None:
    """Something public about this letter changed: a new revision, and its documents queued for building."""
    if letter_id is None:
        return
    session.flush()  # what the use case changed first (a letter just published is queued as published)
    row = session.connection().execute(_BUMP, {"letter_id": letter_id}).first()
    if row is None:
        return
    status, embargo_at, revision = row
    loaded = session.identity_map.get(identity_key(Letter, letter_id))
    if loaded is not None:  # the session's letter learns its new revision, without a change to write back
        set_committed_value(loaded, "public_revision", revision)
    if status == "published":
        queue(session=session, letter_id=letter_id, kind="public", revision=revision)
    elif embargo_at is not None and status in ("draft", "open", "closed"):
        queue(session=session, letter_id=letter_id, kind="embargoed", revision=revision)


def bump_for_recipient(*, session: Session, recipient_id: int | None) -> None:
    """A recipient's details changed: every letter addressed to them shows it."""
    ids = session.exec(select(LetterRecipient.letter_id).where(col(LetterRecipient.recipient_id) == recipient_id))
    for letter_id in sorted(set(ids)):
        bump(session=session, letter_id=letter_id)


def _insert(dialect: str) -> Any:
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


def queue(*, session: Session, letter_id: int, kind: str, revision: int, delay: float | None = None,
          settings: Settings | None = None) -> None:
    """Asks for the documents of this revision (one row per letter and kind: a later change replaces an earlier
    one still waiting, and a build under way for an older revision is built again after it).

    Without `delay`, the settings' coalescing wait (without `settings`, the process's: PENDING, issue 18)."""
    wait = (settings or current().settings).document_coalesce_seconds if delay is None else delay
    now = utcnow()
    values = {"letter_id": letter_id, "kind": kind, "status": "queued", "wanted_revision": revision,
              "not_before": now + timedelta(seconds=wait), "attempts": 0, "last_error": "", "files": "{}",
              "created_at": now, "updated_at": now}
    connection = session.connection()
    stmt = _insert(connection.dialect.name)(DocumentBuild).values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=["letter_id", "kind"],
        set_={"status": "queued", "wanted_revision": revision, "not_before": values["not_before"], "attempts": 0,
              "last_error": "", "lease_until": None, "updated_at": now},
    )
    connection.execute(stmt)
