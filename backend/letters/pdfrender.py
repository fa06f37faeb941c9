"""WeasyPrint with a URL fetcher that refuses file:// and the network, and nothing else from the app.

Kept free of the app's settings and models so that a rendering process (`backend.letters.pdf.render_pdfs`, a
`ProcessPoolExecutor`) starts quickly: it imports WeasyPrint and this module only.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path
from urllib.parse import unquote, urlsplit

from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

ASSET_HOST = "undersigned.assets.invalid"  # .invalid never resolves: nothing here can reach the network
BASE_URL = f"https://{ASSET_HOST}/"
ALLOWED_MEDIA_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}


class AssetFetcher(URLFetcher):
    """Serves /static/... from templates/static and /media/... from the media folder; refuses anything else."""

    def __init__(self, *, static_dir: Path, media_dir: Path) -> None:
        super().__init__(allowed_protocols=("https",), allow_redirects=False)
        self.static_dir = static_dir.resolve()
        self.media_dir = media_dir.resolve()

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


def render_one(html: str, static_dir: str, media_dir: str) -> bytes:
    """One HTML document to PDF bytes, fetching only our own assets from these two folders."""
    fetcher = AssetFetcher(static_dir=Path(static_dir), media_dir=Path(media_dir))
    pdf = HTML(string=html, base_url=BASE_URL, url_fetcher=fetcher).write_pdf()
    assert pdf is not None
    return bytes(pdf)
