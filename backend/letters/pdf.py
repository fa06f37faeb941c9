"""The letter as a PDF (WeasyPrint), from the same letter template as the pages.

WeasyPrint gets a URL fetcher that refuses file:// and the network: it serves only the app's own static files
and uploaded images under the media folder, both addressed on a private host name.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from urllib.parse import unquote, urlsplit

from sqlmodel import Session
from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

from backend.config import get_settings
from backend.letters.models import Letter, LetterVersion
from backend.letters.rendering import SignatoryLike, render_letter, render_template

ASSET_HOST = "undersigned.assets.invalid"  # .invalid never resolves: nothing here can reach the network
BASE_URL = f"https://{ASSET_HOST}/"
ALLOWED_MEDIA_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}


class AssetFetcher(URLFetcher):
    """Serves /static/... from templates/static and /media/... from the media folder; refuses anything else."""

    def __init__(self, *, static_dir: Path | None = None, media_dir: Path | None = None) -> None:
        super().__init__(allowed_protocols=("https",), allow_redirects=False)
        settings = get_settings()
        self.static_dir = (static_dir or Path(settings.templates_dir) / "static").resolve()
        self.media_dir = (media_dir or Path(settings.media_dir)).resolve()

    def resolve(self, url: str) -> Path:
        """The local file an asset URL names; ValueError for anything that is not one of ours."""
        parts = urlsplit(url)
        if parts.scheme != "https" or parts.netloc != ASSET_HOST or parts.query or parts.username:
            raise ValueError(f"refused to fetch {url!r}: only the app's own assets are available to PDFs")
        path = unquote(parts.path)
        if path.startswith("/static/"):
            root, rest = self.static_dir, path.removeprefix("/static/")
        elif path.startswith("/media/"):
            root, rest = self.media_dir, path.removeprefix("/media/")
            if Path(rest).suffix.lower() not in ALLOWED_MEDIA_TYPES:
                raise ValueError(f"refused to fetch {url!r}: only PNG and JPEG images from the media folder")
        else:
            raise ValueError(f"refused to fetch {url!r}: not a static or media path")
        candidate = (root / rest).resolve()
        if not candidate.is_relative_to(root) or not candidate.is_file():
            raise ValueError(f"refused to fetch {url!r}: no such asset")
        return candidate

    def fetch(self, url: str, headers: dict[str, str] | None = None) -> URLFetcherResponse:
        path = self.resolve(url)
        media_type = ALLOWED_MEDIA_TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0]
        return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": media_type or "application/octet-stream"})


def html_to_pdf(html: str) -> bytes:
    """Any of our PDF templates' HTML to PDF bytes, fetching only our own assets."""
    pdf = HTML(string=html, base_url=BASE_URL, url_fetcher=AssetFetcher()).write_pdf()
    assert pdf is not None
    return bytes(pdf)


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
