"""WeasyPrint with a URL fetcher that refuses file:// and the network, and nothing else from the app.

Kept free of the app's settings and models so that a child process rendering PDFs (see
`backend.letters.pdf.IsolatedRenderer`) starts quickly: it imports WeasyPrint and this module only.
Run as `python -m backend.letters.pdfrender [--warm-up STATIC_DIR]`, it is that child: it reads a pickled
(static folder, media folder, [HTML document, ...]) on stdin and writes back a pickled `("ok", [pdf bytes, ...])`
or `("error", traceback)`; with `--warm-up` it first renders a small page (a renderer standing by).
"""

from __future__ import annotations

import mimetypes
import multiprocessing
import os
import pickle
import sys
import traceback
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import BinaryIO
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


def render_all(htmls: list[str], static_dir: str, media_dir: str) -> list[bytes]:
    """Each HTML document to PDF bytes, in order: the first here, the others at the same time in forks of this
    process, so that they run on the other cores without paying WeasyPrint's start-up again (~1 s). Put the
    longest first: the others run at a lower priority, so that on a busy machine they do not slow it down.

    Forking is safe only in a process without other threads: call this in a process of its own (`main`).
    """
    if len(htmls) < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return [render_one(html, static_dir, media_dir) for html in htmls]
    # A fork pool starts its processes before any of its own threads, so they are forked from this one thread.
    with ProcessPoolExecutor(max_workers=len(htmls) - 1, mp_context=multiprocessing.get_context("fork"),
                             initializer=os.nice, initargs=(10,)) as pool:
        others = [pool.submit(render_one, html, static_dir, media_dir) for html in htmls[1:]]
        first = render_one(htmls[0], static_dir, media_dir)
        return [first, *(future.result() for future in others)]


# A page with what the letters use (the stylesheet, serif and sans, bold, page margins), rendered by a renderer
# standing by before its first document: WeasyPrint's first use of each font and C type costs ~0.2 s.
WARM_UP = """<!doctype html><html><head><link rel="stylesheet" href="/static/letter-pdf.css"></head><body>
<article class="letter"><p class="letter-date">1 January 2026</p><h2 class="letter-subject">Subject</h2>
<div class="letter-body"><p>Dear <em>Secretary</em>, <a href="#">text</a>.</p></div>
<p class="signatory-run"><strong>Organisation</strong> (Name, Role)&nbsp;· Person</p></article></body></html>"""


def serve(stdin: BinaryIO, stdout: BinaryIO) -> None:
    """Reads the pickled (static folder, media folder, HTML documents) and writes the pickled answer (see the
    module's docstring)."""
    try:
        static_dir, media_dir, htmls = pickle.load(stdin)  # noqa: S301 - from our own parent, through its pipe
    except EOFError:  # a renderer standing by whose server has stopped
        return
    try:
        answer: tuple[str, object] = ("ok", render_all(htmls, static_dir, media_dir))
    except Exception:
        answer = ("error", traceback.format_exc())
    pickle.dump(answer, stdout)
    stdout.flush()


def main() -> None:
    # The answer gets the real stdout; anything else printed (by Python code or C libraries) goes to stderr.
    answer_out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    if sys.argv[1:2] == ["--warm-up"]:  # standing by: get WeasyPrint's first-use costs over with meanwhile
        try:
            render_one(WARM_UP, sys.argv[2], sys.argv[2])
        except Exception:  # the real documents will say what is wrong
            traceback.print_exc()
    with answer_out:
        serve(sys.stdin.buffer, answer_out)
    # Answered: the parent waits for this process to end, and Python's own clean-up of WeasyPrint's objects
    # would take ~0.1 s more; the system frees all of it at once.
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
