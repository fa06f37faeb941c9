"""Publishing: publish now or at the embargo (once), the public page and its cache, the press pack, press links."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import timedelta
from typing import Any

from sqlmodel import select

from tests.publishing.helpers import SIGNATORIES, build_documents, public_paths, ready_letter

NAMES = [s[1] for s in SIGNATORIES]


def _reload(db: Any, obj: Any) -> Any:
    db.rollback()
    db.expire_all()
    return db.get(type(obj), obj.id)


def test_publish_now_by_the_lead_emails_signatories_once(db: Any, make_user: Any, client: Any, login: Any,
                                                          post: Any, deliver: Any, smtp: Any) -> None:
    ready = ready_letter(db, make_user)
    slug = ready.letter.slug
    login(client, ready.lead)
    r = post(client, f"/letters/{slug}/publish/now", {}, page=f"/letters/{slug}/publish")
    assert r.status_code == 303
    letter = _reload(db, ready.letter)
    assert letter.status == "published" and letter.published_at is not None
    # Publishing again is refused, and no second email goes out.
    r = post(client, f"/letters/{slug}/publish/now", {}, page=f"/letters/{slug}/publish")
    assert r.status_code == 409
    assert deliver() == 4
    mails = smtp.wait_for(4)
    assert {m.to for m in mails} == {f"signer{i}@sig.example" for i in range(4)}
    assert all(f"/letters/{slug}/press-pack.zip" in m.text for m in mails)
    assert "pam@pending.example" not in {m.to for m in mails}


def test_only_the_lead_publishes(db: Any, make_user: Any, client: Any, login: Any, post: Any) -> None:
    from backend.accounts import service as accounts
    from backend.campaigns import service as campaigns

    ready = ready_letter(db, make_user)
    editor = make_user(email="ed@partner.example", name="Ed", organisation="Partner")
    campaign: Any = campaigns.get(session=db, campaign_id=ready.letter.campaign_id)
    campaigns.add_member(session=db, campaign=campaign,
                         organisation=accounts.organisations_of(session=db, user_id=editor.id)[0], role="editor")
    db.commit()
    login(client, editor)
    slug = ready.letter.slug
    r = post(client, f"/letters/{slug}/publish/now", {}, page=f"/letters/{slug}/publish")
    assert r.status_code == 403
    assert _reload(db, ready.letter).status == "closed"


def test_scheduled_publication_happens_once_at_the_embargo(db: Any, make_user: Any, engine: Any,
                                                           clock: Any, settings: Any) -> None:
    from backend.mail.models import OutboundEmail
    from backend.publishing import jobs, service

    ready = ready_letter(db, make_user, embargo_in=timedelta(minutes=2))
    service.schedule(session=db, letter=ready.letter, user=ready.lead, ip=None)
    db.commit()
    jobs.publish_due(engine, settings)
    assert _reload(db, ready.letter).status == "closed"
    clock(timedelta(minutes=3))
    jobs.publish_due(engine, settings)
    jobs.publish_due(engine, settings)
    letter = _reload(db, ready.letter)
    assert letter.status == "published"
    assert len(db.exec(select(OutboundEmail).where(OutboundEmail.template == "letter_published")).all()) == 4


def test_the_claim_publishes_once_even_when_two_workers_race(db: Any, make_user: Any, engine: Any,
                                                             clock: Any) -> None:
    from backend.db import session_for_write
    from backend.publishing import service

    ready = ready_letter(db, make_user, embargo_in=timedelta(minutes=1))
    service.schedule(session=db, letter=ready.letter, user=ready.lead, ip=None)
    db.commit()
    clock(timedelta(minutes=2))
    with session_for_write(engine) as one:
        first = service.publish_due(session=one)
        one.commit()
    with session_for_write(engine) as two:
        second = service.publish_due(session=two)
        two.commit()
    assert first == [ready.letter.id] and second == []


def test_unpublished_letter_is_unreachable_on_every_public_route(db: Any, make_user: Any, client: Any,
                                                                login: Any, post: Any, engine: Any) -> None:
    ready = ready_letter(db, make_user, embargo_in=timedelta(hours=1))
    slug = ready.letter.slug
    paths = public_paths(slug, ready.signatures[0].id)
    for path in paths:
        assert client.get(path).status_code == 404, path
    assert slug not in client.get("/letters").text
    assert slug not in client.get("/letters.atom").text
    assert slug not in client.get("/api/v1/letters").text
    assert client.get("/letters?q=protest").text.count(f"/letters/{slug}") == 0
    # A coalition member is sent to the overview; the files stay unreachable.
    login(client, ready.lead)
    r = client.get(f"/letters/{slug}")
    assert r.status_code == 303 and r.headers["location"] == f"/letters/{slug}/overview"
    for path in paths[1:]:
        assert client.get(path).status_code == 404, path
    # Published: every route answers.
    post(client, f"/letters/{slug}/publish/now", {"break_embargo": "yes"}, page=f"/letters/{slug}/publish")
    client.cookies.clear()
    build_documents(engine)  # the worker's job
    for path in paths:
        assert client.get(path).status_code == 200, path
    assert slug in client.get("/letters.atom").text


def test_public_page_shows_the_letter_and_never_emails(db: Any, make_user: Any, client: Any) -> None:
    from backend.publishing import service

    ready = ready_letter(db, make_user)
    service.publish(session=db, letter=ready.letter, user=ready.lead, ip=None)
    db.commit()
    r = client.get(f"/letters/{ready.letter.slug}")
    html = r.text
    for expected in ("Protect the right to protest", "Dear Home Secretary,", "The right to protest",
                     "<strong>protect</strong>", "Yours sincerely,", "Rt Hon Jane Doe MP", "Protest is a right.",
                     "Pat Press", "registered charity", "civil liberties", 'property="og:image"',
                     "twitter:card", "/press-pack.zip", "Friends of the Park", "Ivy Individual"):
        assert expected in html, expected
    assert html.index("Zebra Crossing Trust") < html.index("Ivy Individual")
    assert "sig.example" not in html and "Pending Org" not in html
    assert "&#34;http://x&#34;" in html or "&quot;http://x&quot;" in html
    # Conditional GET.
    etag = r.headers["etag"]
    assert "max-age" in r.headers["cache-control"]
    again = client.get(f"/letters/{ready.letter.slug}", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    # A change to what is shown gives a new ETag.
    from backend.letters import service as letters

    letters.set_tags(session=db, letter=_reload(db, ready.letter), tags=["civil liberties", "protest"])
    db.commit()
    changed = client.get(f"/letters/{ready.letter.slug}", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag and "protest</a>" in changed.text


def test_press_pack_holds_everything_in_order(db: Any, make_user: Any, client: Any, engine: Any) -> None:
    from docx import Document
    from pypdf import PdfReader

    from backend.publishing import service

    ready = ready_letter(db, make_user)
    service.publish(session=db, letter=ready.letter, user=ready.lead, ip=None)
    db.commit()
    build_documents(engine)  # the worker's job
    r = client.get(f"/letters/{ready.letter.slug}/press-pack.zip")
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(r.content))
    prefix = f"{ready.letter.slug}-press-pack/"
    names = archive.namelist()
    for name in ("README.txt", "letter.pdf", "letter.docx", "press-release.pdf", "press-release.docx",
                 "signatories.csv", "logos/001-friends-of-the-park.png"):
        assert prefix + name in names, name
    readme = archive.read(prefix + "README.txt").decode()
    assert "FOR IMMEDIATE RELEASE" in readme and "&amp;" not in readme

    def pdf_text(name: str) -> str:
        return " ".join("".join(p.extract_text() for p in PdfReader(io.BytesIO(archive.read(prefix + name))).pages)
                        .split())

    def docx_text(name: str) -> str:
        return "\n".join(p.text for p in Document(io.BytesIO(archive.read(prefix + name))).paragraphs)

    letter_pdf, letter_docx = pdf_text("letter.pdf"), docx_text("letter.docx")
    for text in (letter_pdf, letter_docx):
        assert "The right to protest" in text and "protect the right to protest" in text
        positions = [text.index(n) for n in ("Friends of the Park", "HYPERLINK", "Zebra Crossing Trust",
                                             "Ivy Individual")]
        assert positions == sorted(positions)
    release_pdf, release_docx = pdf_text("press-release.pdf"), docx_text("press-release.docx")
    for text in (release_pdf, release_docx):
        for expected in ("PRESS RELEASE", "FOR IMMEDIATE RELEASE", "Protect the right to protest",
                         "Protest is a right.", "We stand together.", "ENDS", "Notes to editors",
                         "Pat Press", "press@lead.example", "020 7946 0000", "Friends of the Park",
                         "Zebra Crossing Trust", "Ivy Individual"):
            assert expected in text, expected
    rows = list(csv.reader(io.StringIO(archive.read(prefix + "signatories.csv").decode())))
    assert rows[0] == ["order", "kind", "name", "signer", "role", "website", "city", "confirmation"]
    assert [row[2] for row in rows[1:]] == ["Friends of the Park", "'=HYPERLINK(\"http://x\")",
                                            "Zebra Crossing Trust", "Ivy Individual"]
    assert "sig.example" not in archive.read(prefix + "signatories.csv").decode()
    # Each file alone is the same file.
    alone = client.get(f"/letters/{ready.letter.slug}/press/signatories.csv")
    assert alone.content == archive.read(prefix + "signatories.csv")


def test_embargo_line_in_uk_style() -> None:
    from datetime import UTC, datetime

    from backend.letters.models import Letter
    from backend.publishing.service import embargo_line

    letter = Letter(campaign_id=1, title="x", slug="x", embargo_at=datetime(2022, 4, 27, 23, 1, tzinfo=UTC))
    assert embargo_line(letter=letter, embargoed=True) == "EMBARGOED UNTIL 00:01 BST, Thursday 28 April 2022"
    winter = Letter(campaign_id=1, title="x", slug="x", embargo_at=datetime(2026, 12, 1, 9, 30, tzinfo=UTC))
    assert embargo_line(letter=winter, embargoed=True) == "EMBARGOED UNTIL 09:30 GMT, Tuesday 1 December 2026"
    assert embargo_line(letter=winter, embargoed=False) == "FOR IMMEDIATE RELEASE"


def test_the_published_list_is_frozen(db: Any, make_user: Any, client: Any, clock: Any) -> None:
    from backend.db import utcnow
    from backend.publishing import service
    from backend.signatures.models import Signature

    ready = ready_letter(db, make_user)
    service.publish(session=db, letter=ready.letter, user=ready.lead, ip=None)
    db.commit()
    clock(timedelta(minutes=5))
    late = db.exec(select(Signature).where(Signature.display_name == "Pending Org")).one()
    late.status, late.approved_at = "approved", utcnow()
    db.add(late)
    db.commit()
    slug = ready.letter.slug
    assert "Pending Org" not in client.get(f"/letters/{slug}").text
    assert client.get(f"/api/v1/letters/{slug}/count").json()["signatory_count"] == 4
    assert len(client.get(f"/api/v1/letters/{slug}/signatories").json()) == 4


def test_share_image_is_a_png_with_a_stable_etag(db: Any, make_user: Any, client: Any) -> None:
    from PIL import Image

    from backend.publishing import service

    ready = ready_letter(db, make_user)
    service.publish(session=db, letter=ready.letter, user=ready.lead, ip=None)
    db.commit()
    r = client.get(f"/letters/{ready.letter.slug}/share.png")
    assert r.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(r.content)).size == (1200, 630)
    again = client.get(f"/letters/{ready.letter.slug}/share.png", headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304
