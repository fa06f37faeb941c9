"""Press links: named, embargoed preview and pack, every download logged, revocable, expire at the embargo."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import timedelta
from typing import Any

from sqlmodel import select

from tests.publishing.helpers import build_documents, ready_letter


def _create(client: Any, post: Any, slug: str, **data: str) -> Any:
    return post(client, f"/letters/{slug}/publish/press-links",
                {"journalist": "Jo Journalist", "outlet": "The Daily", "email": "jo@daily.example", **data},
                page=f"/letters/{slug}/publish")


def _token_path(html: str) -> str:
    found = re.search(r"https?://[^/\s<]+(/press/[A-Za-z0-9_-]+)", html)
    assert found, html
    return found.group(1)


def test_press_link_gives_an_embargoed_pack_and_logs_downloads(db: Any, make_user: Any, client: Any,
                                                               login: Any, post: Any, engine: Any) -> None:
    from docx import Document
    from pypdf import PdfReader

    from backend.publishing.models import PressDownload

    ready = ready_letter(db, make_user, embargo_in=timedelta(days=1))
    slug = ready.letter.slug
    login(client, ready.lead)
    r = _create(client, post, slug)
    assert r.status_code == 200
    path = _token_path(r.text)
    client.cookies.clear()
    preview = client.get(path)
    assert preview.status_code == 200 and "EMBARGOED UNTIL" in preview.text and "The right to protest" in preview.text
    assert preview.headers["cache-control"].startswith("no-store") or "no-store" in preview.headers["cache-control"]
    from backend.db import session_for_write
    from backend.publishing.revision import bump

    with session_for_write(engine) as session:  # made with an embargo directly: its pack was never asked for
        bump(session=session, letter_id=ready.letter.id)
        session.commit()
    build_documents(engine)  # the worker's job
    zipped = client.get(path + "/press-pack.zip")
    assert zipped.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(zipped.content))
    prefix = f"{slug}-press-pack/"
    assert "EMBARGOED UNTIL" in archive.read(prefix + "README.txt").decode()
    pdfs = {n: " ".join("".join(p.extract_text() for p in PdfReader(io.BytesIO(archive.read(prefix + n))).pages)
                        .split()) for n in ("letter.pdf", "press-release.pdf")}
    for name, text in pdfs.items():
        assert "EMBARGOED UNTIL" in text, name
    for name in ("letter.docx", "press-release.docx"):
        text = "\n".join(p.text for p in Document(io.BytesIO(archive.read(prefix + name))).paragraphs)
        assert "EMBARGOED UNTIL" in text and "FOR IMMEDIATE RELEASE" not in text, name
    assert client.get(path + "/files/letter.pdf").status_code == 200
    assert client.get(path + "/files/../../etc/passwd").status_code == 404
    db.rollback()
    assert sorted(d.file for d in db.exec(select(PressDownload))) == ["letter.pdf", "press-pack.zip", "preview"]
    # The public routes stay closed meanwhile.
    assert client.get(f"/letters/{slug}/press-pack.zip").status_code == 404


def test_press_link_revoked_and_expired(db: Any, make_user: Any, client: Any, login: Any, post: Any,
                                        clock: Any) -> None:
    from backend.publishing.models import PressLink

    ready = ready_letter(db, make_user, embargo_in=timedelta(hours=2))
    slug = ready.letter.slug
    login(client, ready.lead)
    first = _token_path(_create(client, post, slug).text)
    second = _token_path(_create(client, post, slug, journalist="Kim Reporter").text)
    db.rollback()
    links = db.exec(select(PressLink).order_by(PressLink.id)).all()  # type: ignore[arg-type]
    assert all(len(link.token_hash) == 64 and link.token_hash not in first + second for link in links)
    r = post(client, f"/letters/{slug}/publish/press-links/{links[0].id}/revoke", {}, page=f"/letters/{slug}/publish")
    assert r.status_code == 303
    page = client.get(f"/letters/{slug}/publish").text
    assert "revoked" in page and "Kim Reporter" in page
    client.cookies.clear()
    assert client.get(first).status_code == 400
    assert client.get(first + "/press-pack.zip").status_code == 400
    assert client.get(second).status_code == 200
    clock(timedelta(hours=3))
    assert client.get(second).status_code == 400
    assert client.get("/press/not-a-token").status_code == 400


def test_press_link_form_keeps_input_on_errors(db: Any, make_user: Any, client: Any, login: Any,
                                               post: Any) -> None:
    ready = ready_letter(db, make_user, embargo_in=timedelta(days=1))
    slug = ready.letter.slug
    login(client, ready.lead)
    r = _create(client, post, slug, journalist="   ", outlet="The <Weekly>")
    assert r.status_code == 422
    assert "Enter the journalist" in r.text and "The &lt;Weekly&gt;" in r.text
    r = _create(client, post, slug, email="not an email")
    assert r.status_code == 422 and "not an email" in r.text


def test_press_links_need_a_future_embargo_and_the_lead(db: Any, make_user: Any, client: Any, login: Any,
                                                       post: Any) -> None:
    from backend.accounts import service as accounts
    from backend.campaigns import service as campaigns

    ready = ready_letter(db, make_user)
    slug = ready.letter.slug
    login(client, ready.lead)
    r = _create(client, post, slug)
    assert r.status_code == 422 and "embargo" in r.text
    db.rollback()
    viewer = make_user(email="vi@partner.example", name="Vi", organisation="Partner")
    campaign: Any = campaigns.get(session=db, campaign_id=ready.letter.campaign_id)
    campaigns.add_member(session=db, campaign=campaign,
                         organisation=accounts.organisations_of(session=db, user_id=viewer.id)[0], role="viewer")
    db.commit()
    client.cookies.clear()
    login(client, viewer)
    assert client.get(f"/letters/{slug}/publish").status_code == 200
    assert _create(client, post, slug).status_code == 403
    client.cookies.clear()
    assert client.get(f"/letters/{slug}/publish").status_code in (303, 307)


def test_schedule_needs_a_future_embargo(db: Any, make_user: Any, client: Any, login: Any, post: Any) -> None:
    ready = ready_letter(db, make_user)
    slug = ready.letter.slug
    login(client, ready.lead)
    r = post(client, f"/letters/{slug}/publish/schedule", {}, page=f"/letters/{slug}/publish")
    assert r.status_code == 422 and "embargo" in r.text
