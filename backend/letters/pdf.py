"""The letter as a PDF (WeasyPrint), from the same letter template as the pages.

WeasyPrint gets a URL fetcher that refuses file:// and the network: it serves only the app's own static files
and uploaded images under the media folder, both addressed on a private host name.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import threading
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from types import TracebackType

from sqlmodel import Session

from backend import PROJECT_ROOT
from backend.config import get_settings
from backend.letters.models import Letter, LetterVersion
from backend.letters.rendering import SignatoryLike, render_letter, render_template


def _asset_dirs() -> tuple[str, str]:
    settings = get_settings()
    return str((Path(settings.templates_dir) / "static").resolve()), str(Path(settings.media_dir).resolve())


class IsolatedRenderer:
    """PDFs made with `pdfrender.render_one` in a short-lived child process (a fresh interpreter, so it is safe from a
    threaded server): WeasyPrint's memory goes back to the system when the child ends, and the server's GIL stays
    free for its requests.

    The child is the renderer standing by if there is one (see `stand_by`), else one started now, so that its
    start-up (mostly importing WeasyPrint, ~0.5 s) overlaps what the caller does before `send`; it then renders
    the documents in parallel (`pdfrender.render_all`) while the caller goes on until `result`.
    """

    def __init__(self) -> None:
        self._proc = _take_standing_by() or _start_renderer(warm_up=False)
        self._count: int | None = None

    def send(self, htmls: list[str]) -> None:
        """Hands the documents to the child (waiting until it has started and reads them)."""
        assert self._proc.stdin is not None and self._count is None
        self._count = len(htmls)
        try:
            with self._proc.stdin:
                pickle.dump((*_asset_dirs(), htmls), self._proc.stdin)
        except BrokenPipeError:  # the child died early: `result` says so
            pass

    def result(self) -> list[bytes]:
        """The PDFs, in the order of the documents sent; RuntimeError (with the child's traceback) if it failed."""
        assert self._proc.stdout is not None and self._count is not None
        with self._proc.stdout:
            data = self._proc.stdout.read()
        code = self._proc.wait()
        try:
            status, value = pickle.loads(data)  # noqa: S301 - from our own child, through our own pipe
        except Exception:  # it died before answering (killed, out of memory): the reason is in the log
            raise RuntimeError(f"the PDF renderer exited with code {code} without an answer") from None
        if status != "ok":
            raise RuntimeError(f"the PDF renderer failed:\n{value}")
        assert isinstance(value, list) and len(value) == self._count
        return value

    def close(self) -> None:
        """Stops the child if it is still running (the caller failed before it took the answer)."""
        if self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        for pipe in (self._proc.stdin, self._proc.stdout):
            if pipe is not None:
                pipe.close()
        _replace_standing_by()

    def __enter__(self) -> IsolatedRenderer:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


_standing_by: subprocess.Popen[bytes] | None = None
_standing_by_lock = threading.Lock()
_stand_by = False


def _start_renderer(*, warm_up: bool) -> subprocess.Popen[bytes]:
    # This checkout's renderer (-P: not one in the working folder); stderr is the server's, for warnings.
    path = os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")]))
    args = ["--warm-up", _asset_dirs()[0]] if warm_up else []
    return subprocess.Popen(  # noqa: S603 - our own interpreter and module, no shell
        [sys.executable, "-P", "-m", "backend.letters.pdfrender", *args],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": path})


def stand_by() -> None:
    """From now on this process keeps a renderer ready (WeasyPrint imported and warmed up, ~60 MB of its own),
    started now and again each time a build takes it, so a cold press pack does not wait ~0.7 s for it. It
    ends by itself when this process ends (its input closes). The `PDF_RENDERER_STANDBY` setting."""
    global _stand_by, _standing_by
    with _standing_by_lock:
        _stand_by = True
        if _standing_by is None or _standing_by.poll() is not None:
            _standing_by = _start_renderer(warm_up=True)


def standing_by_pid() -> int | None:
    """The process id of the renderer standing by, if any (for the benchmark's memory figures and tests)."""
    with _standing_by_lock:
        return _standing_by.pid if _standing_by is not None and _standing_by.poll() is None else None


def _take_standing_by() -> subprocess.Popen[bytes] | None:
    """The renderer standing by, if one is alive (`close` starts another in its place)."""
    global _standing_by
    with _standing_by_lock:
        taken, _standing_by = _standing_by, None
    if taken is not None and taken.poll() is None:
        return taken
    return None


def _replace_standing_by() -> None:
    """After a build (not during it: the two would share the CPU), a new renderer stands by if none does."""
    if _stand_by:
        stand_by()


def html_to_pdfs_isolated(htmls: list[str]) -> list[bytes]:
    """Our PDF templates' HTML to PDF bytes, in order, at the same time, in a short-lived child process."""
    with IsolatedRenderer() as renderer:
        renderer.send(htmls)
        return renderer.result()


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
    """The letter as a PDF: date, recipients, salutation, subject, body, sign-off and signatories. Made in a
    child process, as the press pack's: a server that renders in its own process keeps WeasyPrint's memory."""
    [pdf] = html_to_pdfs_isolated([letter_html(session=session, letter=letter, version=version,
                                               signatures=signatures, on=on)])
    return pdf
