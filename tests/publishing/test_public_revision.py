"""One cache for public pages, by key: the services bump a letter's public revision when anything public about it
changes; the page, its ETag and its share image are cached by that key and read with one cheap query."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event

from backend.config import get_settings
from tests.publishing.helpers import ready_letter


def _published(db: Any, make_user: Any) -> Any:
    from backend.publishing import service

    ready = ready_letter(db, make_user)
    service.publish(session=db, letter=ready.letter, user=ready.lead, ip=None)
    db.commit()
    return ready


def _revision(db: Any, letter: Any) -> int:
    from backend.letters.models import Letter

    db.rollback()
    found = db.get(Letter, letter.id)
    db.refresh(found)
    return int(found.public_revision)


class _Queries:
    """Every statement the app sends while in the block (on SQLite, as the database saw them: also those sent on
    a raw DB-API connection; elsewhere, SQLAlchemy's and the page key's)."""

    def __init__(self, engine: Any, monkeypatch: Any) -> None:
        self.engine, self.monkeypatch, self.statements, self.raw = engine, monkeypatch, [], []
        self.traced: list[Any] = []

    def __enter__(self) -> list[str]:
        from backend.publishing import pagecache

        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "checkout", self._checkout)
        else:
            event.listen(self.engine, "before_cursor_execute", self._seen)
            original = pagecache.public_key_of

            def counted(engine: Any, slug: str) -> Any:
                self._note("SELECT letter.id, letter.status, letter.public_revision FROM letter (raw)")
                return original(engine, slug)

            self.monkeypatch.setattr(pagecache, "public_key_of", counted)
        return self.statements

    def __exit__(self, *_: Any) -> None:
        if self.engine.dialect.name == "sqlite":
            event.remove(self.engine, "checkout", self._checkout)
            for connection in self.traced:
                connection.set_trace_callback(None)
        else:
            event.remove(self.engine, "before_cursor_execute", self._seen)
            self.monkeypatch.undo()

    def _checkout(self, dbapi_connection: Any, *_: Any) -> None:
        dbapi_connection.set_trace_callback(self._note)
        self.traced.append(dbapi_connection)

    def _seen(self, conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        self._note(statement)

    def _note(self, statement: str) -> None:
        self.raw.append(statement)
        if not statement.startswith(("BEGIN", "PRAGMA", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")):
            self.statements.append(statement)


def test_a_cached_page_and_a_304_cost_one_query(db: Any, make_user: Any, client: Any, engine: Any,
                                               monkeypatch: Any) -> None:
    ready = _published(db, make_user)
    path = f"/letters/{ready.letter.slug}"
    first = client.get(path)
    assert first.status_code == 200
    with _Queries(engine, monkeypatch) as statements:
        again = client.get(path)
    assert again.content == first.content and again.headers["etag"] == first.headers["etag"]
    assert len(statements) == 1 and "FROM letter" in statements[0], statements
    queries = _Queries(engine, monkeypatch)
    with queries as statements:
        not_modified = client.get(path, headers={"If-None-Match": first.headers["etag"]})
    assert not_modified.status_code == 304 and not_modified.content == b"" and len(statements) == 1
    assert not any(s.startswith("BEGIN") for s in queries.raw), queries.raw  # no transaction around the key
    assert not_modified.headers["etag"] == first.headers["etag"]
    assert "max-age" in not_modified.headers["cache-control"]


def test_the_etag_is_the_same_in_every_process(db: Any, make_user: Any, client: Any) -> None:
    """The key is in the database, not in a process's memory: a freshly started process gives the same ETag."""
    from backend.publishing import pagecache

    ready = _published(db, make_user)
    path = f"/letters/{ready.letter.slug}"
    first = client.get(path)
    pagecache.clear()  # as another serve process, which has never rendered it
    other = client.get(path, headers={"If-None-Match": first.headers["etag"]})
    assert other.status_code == 304


def test_every_public_change_bumps_the_revision_and_shows_at_once(db: Any, make_user: Any, client: Any,
                                                                  login: Any) -> None:
    from backend.letters import service as letters
    from backend.letters.models import Letter, LetterRecipient, Recipient
    from backend.responses import dispatch, replies, tracking
    from backend.signatures import moderation as signing

    ready = _published(db, make_user)
    path = f"/letters/{ready.letter.slug}"
    before = client.get(path)
    start = _revision(db, ready.letter)
    assert start >= 1  # publishing bumped it

    # A signature withdrawn by the lead.
    letter = db.get(Letter, ready.letter.id)
    signing.withdraw_by_lead(session=db, letter=letter, signature_id=ready.signatures[2].id,
                             reason="They asked by phone.", user=ready.lead, ip=None)
    db.commit()
    assert _revision(db, ready.letter) == start + 1
    page = client.get(path, headers={"If-None-Match": before.headers["etag"]})
    assert page.status_code == 200 and "Zebra Crossing Trust" not in page.text

    # A reply recorded on the timeline.
    link = db.exec(LetterRecipient.__table__.select().where(LetterRecipient.letter_id == ready.letter.id)).first()
    letter = db.get(Letter, ready.letter.id)
    dispatch.send(settings=get_settings(), session=db, letter=letter, user=ready.lead,
                   choices=[dispatch.SendChoice(link.id, "post", tracking.today(), "")])
    db.commit()
    letter = db.get(Letter, ready.letter.id)
    replies.record_response(settings=get_settings(),
                            session=db, letter=letter, letter_recipient_id=link.id, user=ready.lead,
                              data=replies.ResponseInput(received_on=tracking.today(), kind="holding_reply",
                                                           summary="We will reply in full soon."))
    db.commit()
    assert "We will reply in full soon." in client.get(path).text

    # A recipient's details, edited in the directory.
    recipient = db.get(Recipient, link.recipient_id)
    letters.update_recipient(session=db, recipient=recipient, name="Rt Hon Janet Doe MP",
                             position="Home Secretary", recipient_organisation="Home Office")
    db.commit()
    assert "Rt Hon Janet Doe MP" in client.get(path).text

    # The share image is keyed the same way.
    share = client.get(f"{path}/share.png")
    assert client.get(f"{path}/share.png", headers={"If-None-Match": share.headers["etag"]}).status_code == 304
    letter = db.get(Letter, ready.letter.id)
    signing.withdraw_by_lead(session=db, letter=letter, signature_id=ready.signatures[0].id,
                             reason="They asked by email.", user=ready.lead, ip=None)
    db.commit()
    assert client.get(f"{path}/share.png", headers={"If-None-Match": share.headers["etag"]}).status_code == 200


def test_no_listener_hangs_on_every_session() -> None:
    """Nothing watches every SQLAlchemy session for page changes any more: the services bump the revision."""
    from sqlalchemy.orm import Session

    import backend.main  # noqa: F401  (everything the app imports)

    for name in ("after_flush", "do_orm_execute", "after_commit", "after_soft_rollback"):
        assert not any(getattr(Session.dispatch, name)._clslevel.values()), name
