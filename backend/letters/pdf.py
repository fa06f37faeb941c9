"""The letter as a PDF (WeasyPrint), from the same letter template as the pages.

WeasyPrint gets a URL fetcher that refuses file:// and the network: it serves only the app's own static files
and uploaded images under the media folder, both addressed on a private host name.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from datetime import date
from pathlib import Path

from sqlmodel import Session
from weasyprint import HTML

from backend.config import get_settings
from backend.letters import pdfrender
from backend.letters.models import Letter, LetterVersion
from backend.letters.pdfrender import BASE_URL
from backend.letters.rendering import SignatoryLike, render_letter, render_template


class AssetFetcher(pdfrender.AssetFetcher):
    """Serves /static/... from templates/static and /media/... from the media folder; refuses anything else."""

    def __init__(self, *, static_dir: Path | None = None, media_dir: Path | None = None) -> None:
        settings = get_settings()
        super().__init__(static_dir=static_dir or Path(settings.templates_dir) / "static",
                         media_dir=media_dir or Path(settings.media_dir))


def html_to_pdf(html: str) -> bytes:
    """Any of our PDF templates' HTML to PDF bytes, fetching only our own assets."""
    pdf = HTML(string=html, base_url=BASE_URL, url_fetcher=AssetFetcher()).write_pdf()
    assert pdf is not None
    return bytes(pdf)


def html_to_pdfs_isolated(htmls: list[str]) -> list[bytes]:
    """Like `html_to_pdf` for several documents, in a short-lived child process (a fresh interpreter, so it is
    safe from a threaded server): the memory WeasyPrint takes goes back to the system when the child ends."""
    settings = get_settings()
    static_dir = str((Path(settings.templates_dir) / "static").resolve())
    media_dir = str(Path(settings.media_dir).resolve())
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(pdfrender.render_all, htmls, static_dir, media_dir).result()


def letter_html(
    *, session: Session, letter: Letter, version: LetterVersion,
    signatures: Iterable[SignatoryLike] | None = None, on: date | None = None,
) -> str:
    """The full HTML document the letter PDF is made from."""
    body = render_letter(session=session, letter=letter, version=version, signatures=signatures, for_pdf=True,
                         on=on)
    return render_template("letters/pdf.html", {"letter": letter, "version": version, "letter_html": body})


def letter_pdf(
    *, session: Session, letter: Letter, version: LetterVersion,
    signatures: Iterable[SignatoryLike] | None = None, on: date | None = None,
) -> bytes:
    """The letter as a PDF: date, recipients, salutation, subject, body, sign-off and signatories."""
    return html_to_pdf(letter_html(session=session, letter=letter, version=version, signatures=signatures, on=on))
