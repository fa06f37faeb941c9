"""The letter as a PDF (WeasyPrint), from the same letter template as the pages.

WeasyPrint gets a URL fetcher that refuses file:// and the network: it serves only the app's own static files
and uploaded images under the media folder, both addressed on a private host name.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from sqlmodel import Session

from backend.config import Settings
from backend.letters.models import Letter, LetterVersion
from backend.letters.rendering import SignatoryLike, render_letter, render_template


def _asset_dirs(settings: Settings) -> tuple[str, str]:
    return str((Path(settings.templates_dir) / "static").resolve()), str(Path(settings.media_dir).resolve())


# Rendering processes are forked from multiprocessing's fork server, which imports WeasyPrint once, when the
# first render starts it: a render then starts in milliseconds instead of importing WeasyPrint in a fresh
# interpreter each time (~0.6 s of a press pack's build). The fork server is one process that lives as long as
# the process that started it and renders nothing; the rendering processes end with each call, as before.
_PROCESSES = multiprocessing.get_context("forkserver")
_PROCESSES.set_forkserver_preload(["backend.letters.pdfrender"])


def start_fork_server() -> None:
    """Starts the fork server now (it imports WeasyPrint in the background) rather than at the first render: a
    worker calls it when it starts, so that its first press pack is not a second slower than the next."""
    from multiprocessing import forkserver  # deliberate: the module of the context above

    forkserver.ensure_running()


@contextmanager
def rendering_pdfs(htmls: list[str], *, settings: Settings) -> Iterator[Callable[[], list[bytes]]]:
    """Starts rendering our PDF templates' HTML, at the same time in processes of a `ProcessPoolExecutor` that ends
    with the block, and yields the function that waits for the PDF bytes (in order): the caller can do other
    work while they render. WeasyPrint's memory goes back to the system, the server's GIL stays free for its
    requests, and no rendering process outlives the block, whether it succeeded or not."""
    from backend.letters.pdfrender import (
        render_one,  # deliberate: WeasyPrint takes a second to import; only renders need it
    )

    static_dir, media_dir = _asset_dirs(settings)
    workers = max(1, min(len(htmls), os.cpu_count() or 1))
    with ProcessPoolExecutor(max_workers=workers, mp_context=_PROCESSES,
                             max_tasks_per_child=settings.document_renders_per_process) as pool:
        futures = [pool.submit(render_one, html, static_dir, media_dir) for html in htmls]
        try:
            yield lambda: [future.result() for future in futures]
        finally:
            for future in futures:
                future.cancel()  # those not started yet, when the block failed


def render_pdfs(htmls: list[str], *, settings: Settings) -> list[bytes]:
    """Our PDF templates' HTML to PDF bytes, in order (`rendering_pdfs`, waited for at once)."""
    with rendering_pdfs(htmls, settings=settings) as pdfs:
        return pdfs()


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
    signatures: Iterable[SignatoryLike] | None = None, on: date | None = None, settings: Settings,
) -> bytes:
    """The letter as a PDF: date, recipients, salutation, subject, body, sign-off and signatories. Rendered in a
    process of its own (`render_pdfs`): a server that renders in its own process keeps WeasyPrint's memory."""
    [pdf] = render_pdfs([letter_html(session=session, letter=letter, version=version,
                                               signatures=signatures, on=on)], settings=settings)
    return pdf
