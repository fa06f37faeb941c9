"""Full-text search of published letters: by words of the text, recipient, signatory and tag.

One function, two engines. On SQLite an FTS5 table (`letter_search`, made by the migration, outside the ORM's
metadata) holds one row per published letter, written at publication, when the text, recipients and
signatories become final. On PostgreSQL the same documents are built in the query and matched with
`to_tsvector`/`plainto_tsquery`, so there is nothing to keep in step.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, literal, or_, text
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select

from backend.letters.models import Letter, LetterRecipient, LetterTag, LetterVersion, Recipient
from backend.signatures.models import Signature

FTS_TABLE = "letter_search"
# The statements on the FTS5 table: its name is a constant, and every value goes in as a bound parameter.
_DELETE = text("DELETE FROM letter_search WHERE letter_id = :letter_id")
_INSERT = text("INSERT INTO letter_search (letter_id, title, body, recipients, signatories, tags) "
               "VALUES (:letter_id, :title, :body, :recipients, :signatories, :tags)")
_MATCH = text("SELECT letter_id FROM letter_search WHERE letter_search MATCH :match")
WORD_RE = re.compile(r"\w+", re.UNICODE)


@dataclass
class Query:
    text: str = ""
    recipient: str = ""
    organisation: str = ""
    tag: str = ""

    def empty(self) -> bool:
        return not any(WORD_RE.search(v) for v in (self.text, self.recipient, self.organisation, self.tag))


def _documents(letter_id: Any) -> dict[str, ColumnElement[str]]:
    """SQL expressions for the text of one letter's fields, as the index holds them."""
    def joined(expr: Any, *where: ColumnElement[bool], join: tuple[Any, ...] | None = None) -> ColumnElement[str]:
        stmt = select(func.coalesce(_concat_agg(expr), literal("")))
        if join is not None:
            stmt = stmt.select_from(join[0]).join(join[1], join[2])
        for clause in where:
            stmt = stmt.where(clause)
        return stmt.scalar_subquery()  # type: ignore[return-value]

    recipients = joined(
        col(Recipient.name) + literal(" ") + col(Recipient.position) + literal(" ")
        + col(Recipient.recipient_organisation),
        col(LetterRecipient.letter_id) == letter_id,
        join=(LetterRecipient, Recipient, col(Recipient.id) == LetterRecipient.recipient_id))
    signatories = joined(col(Signature.display_name), col(Signature.letter_id) == letter_id,
                         col(Signature.status) == "approved")
    tags = joined(col(LetterTag.name), col(LetterTag.letter_id) == letter_id)
    return {"recipients": recipients, "signatories": signatories, "tags": tags}


def _concat_agg(expr: ColumnElement[str]) -> ColumnElement[str]:
    # Both engines: group_concat on SQLite, string_agg on PostgreSQL (chosen when the statement is compiled).
    return func.aggregate_strings(expr, " ")  # type: ignore[no-any-return]


def index_letter(*, session: Session, letter: Letter) -> None:
    """Writes the letter's search row (SQLite); on PostgreSQL the query reads the tables themselves."""
    if session.get_bind().dialect.name != "sqlite":
        return
    docs = _documents(letter.id)  # type: ignore[arg-type]
    version = session.get(LetterVersion, letter.current_version_id) if letter.current_version_id else None
    values = {
        "letter_id": letter.id,
        "title": letter.title,
        "body": " ".join(filter(None, [version.subject, version.body] if version else [])),
        "recipients": session.execute(select(docs["recipients"])).scalar() or "",
        "signatories": session.execute(select(docs["signatories"])).scalar() or "",
        "tags": session.execute(select(docs["tags"])).scalar() or "",
    }
    session.execute(_DELETE, {"letter_id": letter.id})
    session.execute(_INSERT, values)


def _fts_terms(value: str) -> str:
    """Each word quoted (so no FTS5 syntax gets through) and matched as a prefix; all must be present."""
    return " AND ".join(f'"{w}"*' for w in WORD_RE.findall(value.casefold())[:20])


def _sqlite_match(q: Query) -> str:
    parts = []
    if WORD_RE.search(q.text):
        parts.append(f"({_fts_terms(q.text)})")
    for column, value in (("recipients", q.recipient), ("signatories", q.organisation), ("tags", q.tag)):
        if WORD_RE.search(value):
            parts.append(f"{{{column}}} : ({_fts_terms(value)})")
    return " AND ".join(parts)


def _pg_condition(q: Query) -> ColumnElement[bool]:
    docs = _documents(col(Letter.id))
    body = (select(func.coalesce(col(LetterVersion.subject), literal("")) + literal(" ")
                   + func.coalesce(col(LetterVersion.body), literal("")))
            .where(col(LetterVersion.id) == col(Letter.current_version_id)).scalar_subquery())
    conditions: list[ColumnElement[bool]] = []

    def matches(document: ColumnElement[str], value: str, config: str) -> ColumnElement[bool]:
        words = " ".join(WORD_RE.findall(value))
        return func.to_tsvector(config, document).op("@@")(func.plainto_tsquery(config, words))

    if WORD_RE.search(q.text):
        everything = (col(Letter.title) + literal(" ") + func.coalesce(body, literal(""))
                      + literal(" ") + docs["recipients"] + literal(" ") + docs["signatories"]
                      + literal(" ") + docs["tags"])
        conditions.append(or_(matches(everything, q.text, "english"), matches(everything, q.text, "simple")))
    for name, value in (("recipients", q.recipient), ("signatories", q.organisation), ("tags", q.tag)):
        if WORD_RE.search(value):
            conditions.append(matches(docs[name], value, "simple"))
    return and_(*conditions)


def search(*, session: Session, query: Query, limit: int = 100) -> list[Letter]:
    """Published letters matching every part of the query, newest first."""
    stmt = select(Letter).where(Letter.status == "published")
    if not query.empty():
        if session.get_bind().dialect.name == "sqlite":
            ids = [row[0] for row in session.execute(_MATCH, {"match": _sqlite_match(query)})]
            stmt = stmt.where(col(Letter.id).in_([int(i) for i in ids]))
        else:
            stmt = stmt.where(_pg_condition(query))
    stmt = stmt.order_by(col(Letter.published_at).desc(), col(Letter.id).desc()).limit(limit)
    return list(session.exec(stmt))
