"""The public letter page answered from memory: same bytes and headers, and dropped as soon as something shown
on it changes in this process (or, from another process, after the revalidation interval)."""

from __future__ import annotations

import time
from typing import Any

from sqlmodel import select

from tests.publishing.helpers import ready_letter


def _published(db: Any, make_user: Any) -> Any:
    from backend.db import utcnow

    ready = ready_letter(db, make_user)
    ready.letter.status = "published"
    ready.letter.published_at = utcnow()
    db.add(ready.letter)
    db.commit()
    return ready


def _cached(path: str) -> Any:
    from backend.publishing import pagecache

    return pagecache._entries.get(path)


def test_the_page_from_memory_is_the_same_page_with_the_same_headers(db: Any, make_user: Any, client: Any,
                                                                     monkeypatch: Any) -> None:
    ready = _published(db, make_user)
    path = f"/letters/{ready.letter.slug}"
    first = client.get(path)
    assert first.status_code == 200 and _cached(path) is not None

    # The database is not asked again within the interval: prove it by making any query fail.
    from backend.publishing import service

    def no_queries(**_: Any) -> str:
        raise AssertionError("the fingerprint was computed again")

    monkeypatch.setattr(service, "fingerprint", no_queries)
    again = client.get(path)
    assert again.content == first.content
    for header in ("etag", "cache-control", "content-security-policy", "x-frame-options", "content-type"):
        assert again.headers[header] == first.headers[header]
    not_modified = client.get(path, headers={"If-None-Match": first.headers["etag"]})
    assert not_modified.status_code == 304 and not_modified.content == b""
    assert not_modified.headers["etag"] == first.headers["etag"]
    assert client.head(path).headers["content-length"] == first.headers["content-length"]


def test_a_new_signature_or_response_shows_at_once(db: Any, make_user: Any, client: Any) -> None:
    from backend.db import utcnow
    from backend.letters.models import LetterRecipient
    from backend.responses.models import Response
    from backend.signatures.models import Signature

    ready = _published(db, make_user)
    path = f"/letters/{ready.letter.slug}"
    before = client.get(path)
    assert "Late Signer Trust" not in before.text

    version = ready.signatures[0]
    db.add(Signature(letter_id=ready.letter.id, version_id=version.version_id, content_hash=version.content_hash,
                     kind="organisation", display_name="Late Signer Trust", name_key="late signer trust",
                     signer_name="Lou", contact_email="lou@late.example", email_key="lou@late.example",
                     status="approved", display_order=99, confirmed_at=utcnow(), approved_at=utcnow()))
    db.commit()
    assert _cached(path) is None  # dropped by the commit, not by waiting
    after = client.get(path)
    assert after.headers["etag"] != before.headers["etag"]

    link = db.exec(select(LetterRecipient).where(LetterRecipient.letter_id == ready.letter.id)).first()
    db.add(Response(letter_recipient_id=link.id, received_on=utcnow().date(), kind="holding_reply",
                    summary="A holding reply from the Home Office", is_public=True))
    db.commit()
    assert _cached(path) is None
    assert "A holding reply from the Home Office" in client.get(path).text


def test_a_change_elsewhere_keeps_the_page_and_another_process_is_seen_after_the_interval(
        db: Any, make_user: Any, client: Any, monkeypatch: Any) -> None:
    from backend.mail.models import OutboundEmail
    from backend.publishing import pagecache

    ready = _published(db, make_user)
    path = f"/letters/{ready.letter.slug}"
    client.get(path)
    db.add(OutboundEmail(to_address="x@example.org", template="t", subject="s", text="t", html="h",
                         next_attempt_at=ready.letter.published_at, message_id="<unrelated@example.org>"))
    db.commit()
    assert _cached(path) is not None  # mail has nothing to do with the page

    # Another process changes the letter: this one sees it once the entry is older than the interval.
    entry = _cached(path)
    monkeypatch.setattr(entry, "checked_at", entry.checked_at - 3600)
    ready.letter.status = "archived"
    db.add(ready.letter)
    monkeypatch.setattr(pagecache, "forget", lambda letter_ids=None: None)  # as if committed elsewhere
    db.commit()
    assert client.get(path).status_code == 404
    assert _cached(path) is None


def test_logged_in_visitors_and_query_strings_go_through_the_app(db: Any, make_user: Any, client: Any,
                                                                 login: Any) -> None:
    ready = _published(db, make_user)
    path = f"/letters/{ready.letter.slug}"
    client.get(path)
    login(client, ready.lead)
    page = client.get(path)
    assert page.status_code == 200
    assert client.get(path + "?utm_source=x").status_code == 200


def test_the_press_pack_s_fingerprint_is_remembered_briefly_and_dropped_by_a_change_here(
        db: Any, make_user: Any, client: Any, monkeypatch: Any) -> None:
    from backend.letters.models import Quote
    from backend.publishing import pagecache

    ready = _published(db, make_user)
    url = f"/letters/{ready.letter.slug}/press-pack.zip"
    first = client.get(url)
    assert first.status_code == 200
    [key] = [k for k in pagecache._fingerprints if k[0] == ready.letter.id]
    assert key[1] == "pack:public"
    pagecache._fingerprints[key].checked_at = time.monotonic()  # as if just checked (the build took a while)

    # A change committed elsewhere (another process) is not seen until the remembered one is older than the
    # interval: the same pack meanwhile, then the new one.
    monkeypatch.setattr(pagecache, "forget", lambda letter_ids=None: None)
    db.add(Quote(letter_id=ready.letter.id, person="Ann Other", role="Chair", organisation="Org",
                 text="A quote made elsewhere.", position=9))
    db.commit()
    assert client.get(url).headers["etag"] == first.headers["etag"]
    monkeypatch.setattr(pagecache._fingerprints[key], "checked_at", pagecache._fingerprints[key].checked_at - 60)
    changed = client.get(url)
    assert changed.headers["etag"] != first.headers["etag"]
    monkeypatch.undo()

    # A change committed here drops it at once.
    db.add(Quote(letter_id=ready.letter.id, person="Bo Here", role="Chair", organisation="Org",
                 text="A quote made here.", position=10))
    db.commit()
    assert key not in pagecache._fingerprints
    assert client.get(url).headers["etag"] not in (first.headers["etag"], changed.headers["etag"])
