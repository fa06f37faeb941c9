"""Open data: the JSON API validated against its own OpenAPI schema (schemathesis), the feeds, the index."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from sqlmodel import select

from tests.publishing.helpers import ready_letter

ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def published(db: Any, make_user: Any) -> Any:
    from backend.publishing import service

    ready = ready_letter(db, make_user)
    service.publish(session=db, letter=ready.letter, user=ready.lead, ip=None)
    db.commit()
    return ready


def test_api_conforms_to_its_schema(app: Any, published: Any) -> None:
    """Schemathesis generates requests for every /api/v1 operation: no 5xx, and answers match the schema.

    Driven through its Python API (the pytest-fixture integration does not support this pytest version).
    """
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", app).include(path_regex="^/api/v1/")
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) == 6

    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=25, suppress_health_check=list(HealthCheck), deadline=None, database=None)
        def check(case: Any) -> None:
            case.call_and_validate()

        check()
    # And with the slug of the published letter, not only invented ones.
    for operation in operations:
        if "{slug}" in operation.path:
            operation.Case(path_parameters={"slug": published.letter.slug}).call_and_validate()


def test_api_documents_every_endpoint(client: Any) -> None:
    paths = client.get("/api/openapi.json").json()["paths"]
    for path in ("/api/v1/letters", "/api/v1/letters/{slug}", "/api/v1/letters/{slug}/signatories",
                 "/api/v1/letters/{slug}/responses", "/api/v1/letters/{slug}/commitments",
                 "/api/v1/letters/{slug}/count"):
        assert "get" in paths[path], path


def test_api_letter_and_signatories(client: Any, published: Any) -> None:
    slug = published.letter.slug
    letter = client.get(f"/api/v1/letters/{slug}").json()
    assert letter["subject"] == "The right to protest" and letter["signatory_count"] == 4
    assert letter["recipients"][0]["name"] == "Rt Hon Jane Doe MP"
    assert [q["person"] for q in letter["quotes"]] == ["Amira Khan", "Tom Brown"]
    signatories = client.get(f"/api/v1/letters/{slug}/signatories").json()
    assert signatories[0]["name"] == "Friends of the Park"
    assert "sig.example" not in client.get(f"/api/v1/letters/{slug}/signatories").text
    count = client.get(f"/api/v1/letters/{slug}/count")
    assert count.json() == {"slug": slug, "signatory_count": 4} and "max-age" in count.headers["cache-control"]
    listed = client.get("/api/v1/letters?tag=civil%20liberties").json()
    assert [x["slug"] for x in listed] == [slug]
    assert client.get("/api/v1/letters?tag=nothing").json() == []


def test_index_search(client: Any, published: Any) -> None:
    slug = published.letter.slug
    for query in ("q=protect", "recipient=home+office", "organisation=zebra", "tag=Civil+Liberties"):
        assert f"/letters/{slug}" in client.get(f"/letters?{query}").text, query
    for query in ("q=nothing+like+it", "recipient=treasury", "organisation=nobody", "tag=other"):
        assert f"/letters/{slug}" not in client.get(f"/letters?{query}").text, query
    assert client.get("/letters?q=" + "x" * 500).status_code == 422


def test_atom_feeds_parse_and_escape(db: Any, client: Any, published: Any) -> None:
    from backend.letters.models import LetterRecipient
    from backend.responses.models import Response

    link = db.exec(select(LetterRecipient)).first()
    db.add(Response(letter_recipient_id=link.id, received_on=published.letter.published_at.date(),
                    kind="holding_reply", summary="We will reply <soon> & properly"))
    db.commit()
    feed = ElementTree.fromstring(  # noqa: S314 - our own feed
        client.get("/letters.atom").content)
    entries = feed.findall(f"{ATOM}entry")
    assert [e.findtext(f"{ATOM}title") for e in entries] == ["Protect the right to protest"]
    responses = ElementTree.fromstring(  # noqa: S314 - our own feed
        client.get("/responses.atom").content)
    entry: Any = responses.find(f"{ATOM}entry")
    assert entry.findtext(f"{ATOM}summary") == "We will reply <soon> & properly"
