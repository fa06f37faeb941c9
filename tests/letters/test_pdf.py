"""The letter PDF: what a charity's letter holds, 2,000 signatories, and a URL fetcher that reaches nothing else."""

from __future__ import annotations

import io
import re
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import pytest
from pypdf import PdfReader

from backend.campaigns import service as campaigns
from backend.config import get_settings
from backend.letters import service as letters
from backend.letters.models import Recipient
from backend.letters.pdf import letter_pdf, render_pdfs
from backend.letters.pdfrender import BASE_URL, AssetFetcher


def text_of(pdf: bytes) -> tuple[int, str]:
    reader = PdfReader(io.BytesIO(pdf))
    return len(reader.pages), " ".join(" ".join((p.extract_text() or "").split()) for p in reader.pages)


@pytest.fixture
def letter(db, make_user):
    user = make_user(organisation="Southside Racial Justice Network")
    from backend.accounts.service import organisations_of

    org = organisations_of(session=db, user_id=user.id)[0]
    campaign = campaigns.create(session=db, title="Commissioner", lead_organisation=org, created_by=user)
    letter = letters.create(session=db, campaign=campaign, title="Recruiting the Commissioner")
    version = letters.save_version(
        session=db, letter=letter, author_id=user.id, check_base=False,
        text=letters.LetterText(salutation="Dear Home Secretary,", subject="Recruiting the next Commissioner",
                                body="We write about the **recruitment**.\n\nA second paragraph.",
                                sign_off="Yours sincerely,"),
    )
    letters.set_recipients(session=db, letter=letter, recipients=[
        Recipient(organisation_id=org.id, name="The Home Secretary",
                  position="Secretary of State for the Home Department", recipient_organisation="Home Office"),
    ])
    db.commit()
    return letter, version


def test_the_pdf_reads_like_a_letter(db, letter):
    row, version = letter
    signatures = [
        SimpleNamespace(display_name="Southside Racial Justice Network", signer_name="Amara Okafor",
                        signer_role="Vice Chair", kind="organisation", website="https://southside.example"),
        SimpleNamespace(display_name="Dr Jane Doe", signer_name="Dr Jane Doe", signer_role="Researcher",
                        kind="individual", website=None),
    ]
    pdf = letter_pdf(settings=get_settings(), session=db, letter=row, version=version, signatures=signatures,
                     on=date(2026, 11, 23))
    assert pdf.startswith(b"%PDF-")
    pages, text = text_of(pdf)
    assert pages == 1
    for expected in ("23 November 2026", "The Home Secretary", "Secretary of State for the Home Department",
                     "Home Office", "Dear Home Secretary,", "Recruiting the next Commissioner",
                     "We write about the recruitment.", "A second paragraph.", "Yours sincerely,",
                     "Southside Racial Justice Network", "Amara Okafor, Vice Chair", "Organisations",
                     "Individuals", "Dr Jane Doe", "Page 1 of 1"):
        assert expected in text, expected
    # Organisations come before individuals.
    assert text.index("Southside Racial Justice Network") < text.index("Dr Jane Doe")
    assert PdfReader(io.BytesIO(pdf)).metadata.title == "Recruiting the Commissioner"


def test_a_published_letter_is_dated_when_it_was_published(db, letter):
    from datetime import UTC, datetime

    row, version = letter
    row.published_at = datetime(2026, 6, 30, 23, 30, tzinfo=UTC)  # already 1 July in London (BST)
    _pages, text = text_of(letter_pdf(settings=get_settings(), session=db, letter=row, version=version))
    assert "1 July 2026" in text


def test_two_thousand_signatories_are_all_in_the_pdf_in_order(db, letter):
    row, version = letter
    signatures = [
        SimpleNamespace(display_name=f"Community Organisation Number {i:04d}", signer_name=f"Signer {i:04d}",
                        signer_role="Chief Executive", kind="organisation" if i < 1800 else "individual",
                        website="https://example.org" if i % 3 == 0 else None)
        for i in range(2000)
    ]
    pdf = letter_pdf(settings=get_settings(), session=db, letter=row, version=version, signatures=signatures)
    pages, text = text_of(pdf)
    assert pages > 1
    assert f"Page {pages} of {pages}" in text
    # Every name, each once, in the order given (organisations, then individuals). A name may wrap over lines
    # or over pages, so the page footers come out of the text first.
    text = " ".join(re.sub(r"Page \d+ of \d+", " ", text).split())
    position = text.index("Organisations")
    for i in range(2000):
        name = f"Community Organisation Number {i:04d}"
        if i == 1800:
            position = text.index("Individuals", position)
        assert text.count(name) == 1, name
        position = text.index(name, position)
    # Organisations show who signed for them; individuals show their role.
    assert "Community Organisation Number 0000 (Signer 0000, Chief Executive)" in text
    assert "Community Organisation Number 1999 (Chief Executive)" in text


def test_several_pdfs_are_made_at_once_in_processes_that_end_with_the_call():
    import multiprocessing

    pages = [f"<html><body><p>Document number {n}</p></body></html>" for n in range(3)]
    pdfs = render_pdfs(pages, settings=get_settings())
    assert [text_of(pdf)[1] for pdf in pdfs] == [f"Document number {n}" for n in range(3)]
    assert multiprocessing.active_children() == []


def test_rendering_processes_start_from_a_fork_server_that_has_weasyprint_loaded():
    """A render forks from one standing process with WeasyPrint imported (its Pango library mapped) instead of
    importing WeasyPrint in a new interpreter each time; the rendering processes still end with each call, while
    the caller makes other files as they render."""
    import multiprocessing

    from backend.letters.pdf import rendering_pdfs, start_fork_server
    from tests.processes import fork_server, processes, rendering_processes

    start_fork_server()  # as a worker does when it starts: before any render asks for it
    started = fork_server(processes())
    assert started is not None
    with rendering_pdfs(["<p>First</p>", "<p>Second</p>"], settings=get_settings()) as pdfs:
        during = processes()  # the caller is free to work while they render
        first = pdfs()
    assert fork_server(during) == started
    assert "libpango" in Path(f"/proc/{started}/maps").read_text()  # it has WeasyPrint imported
    assert [pid for pid, (parent, _) in during.items() if parent == started]  # the renders, forked from it
    assert [text_of(pdf)[1] for pdf in first] == ["First", "Second"]
    assert render_pdfs(["<p>Third</p>"], settings=get_settings()) and fork_server(processes()) == started
    assert rendering_processes() == []
    assert multiprocessing.active_children() == []


def test_a_failure_in_a_rendering_process_is_raised_and_leaves_no_process():
    import multiprocessing

    with pytest.raises(TypeError):
        render_pdfs(["<p>fine</p>", 12345], settings=get_settings())  # type: ignore[list-item]
    assert multiprocessing.active_children() == []


@pytest.fixture
def fetcher(tmp_path: Path) -> AssetFetcher:
    static = tmp_path / "static"
    media = tmp_path / "media"
    (media / "logos").mkdir(parents=True)
    static.mkdir()
    (static / "letter.css").write_text("p { color: black }")
    (media / "logos" / "ok.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (media / "logos" / "notes.txt").write_text("secret")
    (tmp_path / "secret.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    return AssetFetcher(static_dir=static, media_dir=media)


def test_fetcher_serves_own_static_files_and_media_images(fetcher):
    response = fetcher.fetch(BASE_URL + "static/letter.css")
    assert response.read() == b"p { color: black }"
    assert response.content_type == "text/css"
    image = fetcher.fetch(BASE_URL + "media/logos/ok.png")
    assert image.content_type == "image/png"


@pytest.mark.parametrize("url", [
    "file:///etc/passwd",
    "http://127.0.0.1:8000/static/site.css",
    "https://example.org/static/letter.css",
    "https://undersigned.assets.invalid.example.org/static/letter.css",
    "https://user@undersigned.assets.invalid/static/letter.css",
    BASE_URL + "static/../secret.png",
    BASE_URL + "static/%2e%2e/secret.png",
    BASE_URL + "media/../secret.png",
    BASE_URL + "media/logos/%2e%2e/%2e%2e/secret.png",
    BASE_URL + "media/logos/notes.txt",
    BASE_URL + "media/logos/missing.png",
    BASE_URL + "etc/passwd",
    BASE_URL + "static/letter.css?x=1",
    "data:text/css,p{color:red}",
    "ftp://example.org/x.css",
])
def test_fetcher_refuses_everything_else(fetcher, url):
    with pytest.raises(ValueError):
        fetcher.fetch(url)


def test_a_pdf_never_reads_local_files_or_the_network(tmp_path, settings):
    media = Path(settings.media_dir) / "logos"
    media.mkdir(parents=True, exist_ok=True)
    from PIL import Image

    Image.new("RGB", (40, 20), "red").save(media / "logo.png")
    Image.new("RGB", (40, 20), "blue").save(tmp_path / "outside.png")
    html = (
        '<html><head><link rel="stylesheet" href="/static/letter-pdf.css"></head><body>'
        f'<p>Hello</p><img src="file://{tmp_path / "outside.png"}"><img src="http://127.0.0.1:9/x.png">'
        '<img src="/media/logos/logo.png"></body></html>'
    )
    [pdf] = render_pdfs([html], settings=get_settings())
    reader = PdfReader(io.BytesIO(pdf))
    images = [img for page in reader.pages for img in page.images]
    assert len(images) == 1  # only the logo under the media folder was fetched
    assert "Page 1 of 1" in (reader.pages[0].extract_text() or "")  # our stylesheet was applied
