"""The press pack is built by the worker, for the letter's public revision, once per burst of changes; a download
is the built file; a failed build is retried, reported on the publish page, and leaves no process behind."""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import select

from tests.processes import rendering_processes
from tests.publishing.helpers import build_documents, build_staff_pdf, ready_letter


def _build_row(db: Any, letter: Any, kind: str = "public") -> Any:
    from backend.publishing.models import DocumentBuild

    db.rollback()
    db.expire_all()
    return db.exec(select(DocumentBuild).where(DocumentBuild.letter_id == letter.id)
                   .where(DocumentBuild.kind == kind)).first()


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The letter ids of each pack built in this process."""
    from backend.publishing import documents

    seen: list[int] = []
    original = documents.build_files

    def counting(**kwargs: Any) -> dict[str, str]:
        seen.append(kwargs["letter"].id)
        return original(**kwargs)

    monkeypatch.setattr(documents, "build_files", counting)
    return seen


def test_publishing_queues_a_build_the_worker_builds_it_once_and_a_download_is_that_file(
        db: Any, make_user: Any, engine: Any, client: Any, clock: Any, builds: list[int], settings: Any) -> None:
    from backend.letters import service as letters
    from backend.letters.models import Letter
    from backend.publishing import documents, service

    ready = ready_letter(db, make_user)
    service.publish(session=db, letter=ready.letter, user=ready.lead, ip=None)
    db.commit()
    row = _build_row(db, ready.letter)
    assert row.status == "queued" and row.wanted_revision >= 1
    # A burst of changes right after: still one build, of the last revision.
    for n in range(5):
        letters.set_tags(session=db, letter=db.get(Letter, ready.letter.id), tags=[f"tag {n}"])
        db.commit()
    assert documents.build_due(engine, settings) == 0  # the burst is still being gathered
    clock(timedelta(seconds=5))
    assert documents.build_due(engine, settings) == 1 and documents.build_due(engine, settings) == 0
    assert builds == [ready.letter.id]
    row = _build_row(db, ready.letter)
    letter = db.get(Letter, ready.letter.id)
    assert (row.status, row.built_revision) == ("built", letter.public_revision), (row.wanted_revision, row.last_error)
    assert rendering_processes() == []

    response = client.get(f"/letters/{ready.letter.slug}/press-pack.zip")
    assert response.status_code == 200 and builds == [ready.letter.id]  # served, not built again
    name = hashlib.sha256(response.content).hexdigest()
    from backend.config import get_settings

    assert (Path(get_settings().media_dir) / "documents" / name[:2] / f"{name}.zip").read_bytes() == response.content
    assert response.headers["etag"] == f'"{name}"'
    again = client.get(f"/letters/{ready.letter.slug}/press/letter.pdf")
    assert again.status_code == 200 and again.content.startswith(b"%PDF") and builds == [ready.letter.id]


def test_x_accel_redirect_behind_nginx(db: Any, make_user: Any, engine: Any, client: Any, monkeypatch: Any,
                                       clock: Any, settings: Any) -> None:
    from backend.config import get_settings
    from backend.publishing import documents, service

    ready = ready_letter(db, make_user)
    service.publish(session=db, letter=ready.letter, user=ready.lead, ip=None)
    db.commit()
    clock(timedelta(seconds=5))
    documents.build_due(engine, settings)
    monkeypatch.setattr(get_settings(), "x_accel_redirect", True)
    response = client.get(f"/letters/{ready.letter.slug}/press-pack.zip")
    assert response.status_code == 200 and response.content == b""
    assert response.headers["x-accel-redirect"].startswith("/_media/documents/")
    assert response.headers["content-type"] == "application/zip"
    assert 'filename="' in response.headers["content-disposition"]


def test_six_parallel_first_downloads_get_the_same_bytes_from_one_build(
        db: Any, make_user: Any, live_server: Any, live_worker: None, builds: list[int]) -> None:
    """The embedded default: the server's own worker thread builds the pack once; every download waits for it."""
    from backend.publishing import service

    ready = ready_letter(db, make_user)
    service.publish(session=db, letter=ready.letter, user=ready.lead, ip=None)
    db.commit()

    def download(_: int) -> tuple[int, bytes]:
        with httpx.Client(base_url=live_server.url, timeout=120) as c:
            r = c.get(f"/letters/{ready.letter.slug}/press-pack.zip")
            return r.status_code, r.content

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(download, range(6)))
    assert [code for code, _ in results] == [200] * 6
    assert len({body for _, body in results}) == 1 and results[0][1].startswith(b"PK")
    assert builds == [ready.letter.id]
    assert rendering_processes() == []


def test_a_failed_build_is_retried_reported_and_leaves_no_process(
        db: Any, make_user: Any, engine: Any, client: Any, login: Any, clock: Any, monkeypatch: Any,
        settings: Any) -> None:
    from backend.publishing import documents, pack, service

    ready = ready_letter(db, make_user)
    service.publish(session=db, letter=ready.letter, user=ready.lead, ip=None)
    db.commit()
    clock(timedelta(seconds=5))
    original = pack.letter_pdf_html
    monkeypatch.setattr(pack, "letter_pdf_html", lambda **_: 12345)  # the renderer process fails on it
    assert documents.build_due(engine, settings) == 0
    assert rendering_processes() == []
    row = _build_row(db, ready.letter)
    assert row.status == "queued" and row.attempts == 1 and "TypeError" in row.last_error
    # A download says so at once (503), rather than trying again on every request.
    response = client.get(f"/letters/{ready.letter.slug}/press-pack.zip")
    assert response.status_code == 503 and "could not be built" in response.text
    assert int(response.headers["retry-after"]) >= 30
    login(client, ready.lead)
    page = client.get(f"/letters/{ready.letter.slug}/publish")
    assert "could not be built" in page.text and "TypeError" in page.text
    # Tried again after its delay, and built.
    monkeypatch.setattr(pack, "letter_pdf_html", original)
    assert documents.build_due(engine, settings) == 0  # not yet
    clock(timedelta(minutes=5))
    assert documents.build_due(engine, settings) == 1
    assert _build_row(db, ready.letter).status == "built"
    assert "Public press pack: ready" in " ".join(client.get(f"/letters/{ready.letter.slug}/publish").text.split())
    assert rendering_processes() == []


def test_a_download_never_builds_it_asks_the_worker_and_waits_then_503_with_retry_after(
        db: Any, make_user: Any, engine: Any, client: Any, settings: Any, monkeypatch: Any,
        builds: list[int]) -> None:
    from backend.db import as_utc, utcnow
    from backend.publishing import service

    ready = ready_letter(db, make_user)
    service.publish(session=db, letter=ready.letter, user=ready.lead, ip=None)
    db.commit()
    assert as_utc(_build_row(db, ready.letter).not_before) > utcnow()  # gathering a burst of changes
    monkeypatch.setattr(settings, "document_wait_seconds", 0.5)
    response = client.get(f"/letters/{ready.letter.slug}/press-pack.zip")
    assert response.status_code == 503 and "being prepared" in response.text
    assert response.headers["retry-after"] == "30"
    assert builds == [] and rendering_processes() == []  # nothing built in the request
    row = _build_row(db, ready.letter)
    assert row.status == "queued" and as_utc(row.not_before) <= utcnow()  # asked for now: the next tick builds it
    assert build_documents(engine) == 1 and builds == [ready.letter.id]
    assert client.get(f"/letters/{ready.letter.slug}/press-pack.zip").status_code == 200


def test_a_download_of_a_letter_never_queued_queues_its_build(db: Any, make_user: Any, engine: Any, client: Any,
                                                               settings: Any, monkeypatch: Any) -> None:
    from backend.publishing.models import DocumentBuild

    ready = ready_letter(db, make_user, status="published")  # published directly: no build queued
    assert _build_row(db, ready.letter) is None
    monkeypatch.setattr(settings, "document_wait_seconds", 0.2)
    assert client.get(f"/letters/{ready.letter.slug}/press/letter.pdf").status_code == 503
    row = _build_row(db, ready.letter)
    assert isinstance(row, DocumentBuild) and row.status == "queued"
    assert build_documents(engine) == 1
    assert client.get(f"/letters/{ready.letter.slug}/press/letter.pdf").content.startswith(b"%PDF")


def test_the_coalitions_pdf_is_built_by_the_worker_and_served_until_the_letter_changes(
        db: Any, make_user: Any, engine: Any, client: Any, login: Any, settings: Any, monkeypatch: Any) -> None:
    from backend.letters import service as letters
    from backend.letters.models import Letter
    from backend.publishing import documents

    monkeypatch.setattr(settings, "document_wait_seconds", 0.3)
    ready = ready_letter(db, make_user)
    folder = Path(settings.media_dir) / documents.STAFF_FOLDER / str(ready.letter.id)
    login(client, ready.lead)
    path = f"/letters/{ready.letter.slug}/pdf"
    waiting = client.get(path)
    assert waiting.status_code == 503 and waiting.headers["retry-after"] == "30"
    row = _build_row(db, ready.letter, "staff")  # asked for, as a build of its own; nothing built in the request
    assert row is not None and row.status == "queued" and not folder.exists()
    assert rendering_processes() == []
    assert documents.build_due(engine, settings) == 1 and rendering_processes() == []
    first = client.get(path)
    assert first.status_code == 200 and first.content.startswith(b"%PDF")
    assert first.headers["cache-control"] == "private, no-store" and "-v1.pdf" in first.headers["content-disposition"]
    assert client.get(path).content == first.content
    assert documents.build_due(engine, settings) == 0  # served, not built again
    # Something in it changes: built again (by the worker), the new one served, and only that one kept.
    db.rollback()
    letters.set_recipients(session=db, letter=db.get(Letter, ready.letter.id), recipients=[])
    db.commit()
    assert client.get(path).status_code == 503
    assert documents.build_due(engine, settings) == 1
    second = client.get(path)
    assert second.status_code == 200 and second.content != first.content
    assert [p.suffix for p in folder.iterdir()] == [".pdf"]
    db.rollback()  # a new transaction: it sees what the worker wrote
    assert [(d.kind, d.state) for d in documents.status_of(session=db, letter=db.get(Letter, ready.letter.id))
            if d.kind == "staff"] == [("staff", "ready")]


def test_a_failed_coalition_pdf_is_a_503_retried_by_the_worker_and_reported(
        db: Any, make_user: Any, engine: Any, client: Any, login: Any, settings: Any, monkeypatch: Any) -> None:
    from backend.db import session_for_write, utcnow
    from backend.letters.models import Letter
    from backend.publishing import documents
    from backend.publishing.models import DocumentBuild

    monkeypatch.setattr(settings, "document_wait_seconds", 0.2)
    ready = ready_letter(db, make_user)
    login(client, ready.lead)
    path = f"/letters/{ready.letter.slug}/pdf"
    assert client.get(path).status_code == 503

    def broken(htmls: list[str], settings: Any = None) -> list[bytes]:
        raise RuntimeError("renderer down")

    monkeypatch.setattr(documents, "render_pdfs", broken)
    assert documents.build_due(engine, settings) == 0
    failed = client.get(path)
    assert failed.status_code == 503 and "could not be built" in failed.text
    assert int(failed.headers["retry-after"]) >= 29  # when the worker tries again
    db.rollback()  # a new transaction: it sees what the worker wrote
    [status] = [d for d in documents.status_of(session=db, letter=db.get(Letter, ready.letter.id))
                if d.kind == "staff"]
    assert (status.state, status.attempts) == ("failed", 1) and "renderer down" in status.last_error
    assert client.get(f"/letters/{ready.letter.slug}/publish").status_code in (200, 303)
    monkeypatch.undo()
    monkeypatch.setattr(settings, "document_wait_seconds", 0.2)
    assert documents.build_due(engine, settings) == 0  # not before its retry
    with session_for_write(engine) as session:  # the retry's time has come
        session.execute(DocumentBuild.__table__.update().values(not_before=utcnow()))
        session.commit()
    assert documents.build_due(engine, settings) == 1
    assert client.get(path).status_code == 200 and documents.build_due(engine, settings) == 0


def test_the_staff_pdf_helper_builds_what_a_download_serves(db: Any, make_user: Any, engine: Any, client: Any,
                                                            login: Any) -> None:
    ready = ready_letter(db, make_user)
    assert build_staff_pdf(engine, ready.letter.id) == 1
    login(client, ready.lead)
    assert client.get(f"/letters/{ready.letter.slug}/pdf").content.startswith(b"%PDF")


def test_a_pack_built_for_an_older_revision_is_never_served(db: Any, make_user: Any, engine: Any, client: Any,
                                                             settings: Any, monkeypatch: Any) -> None:
    """A download of a built pack is one query on the event loop; that query only finds a build of the letter's
    current public revision, so a change since (a signature withdrawn) waits for the new build instead."""
    from backend.letters import service as letters
    from backend.letters.models import Letter

    ready = ready_letter(db, make_user, status="published")
    monkeypatch.setattr(settings, "document_wait_seconds", 0.2)
    assert client.get(f"/letters/{ready.letter.slug}/press-pack.zip").status_code == 503  # asks for a build
    assert build_documents(engine) == 1
    first = client.get(f"/letters/{ready.letter.slug}/press-pack.zip")
    assert first.status_code == 200 and first.content.startswith(b"PK")
    csv = client.get(f"/letters/{ready.letter.slug}/press/signatories.csv")
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    letters.set_tags(session=db, letter=db.get(Letter, ready.letter.id), tags=["a change"])
    db.commit()
    stale = client.get(f"/letters/{ready.letter.slug}/press-pack.zip")
    assert stale.status_code == 503 and stale.headers["retry-after"]
    assert client.get(f"/letters/{ready.letter.slug}/press/not-a-file.txt").status_code == 404
    assert build_documents(engine) == 1
    fresh = client.get(f"/letters/{ready.letter.slug}/press-pack.zip")
    assert fresh.status_code == 200 and fresh.content.startswith(b"PK")


def test_downloads_waiting_for_a_build_never_take_the_threads_other_pages_need(
        db: Any, make_user: Any, client: Any, settings: Any, monkeypatch: Any) -> None:
    """Sync routes share SERVE_THREADS threads (6); a download waiting for its build waits in a thread of its own,
    so more waiting downloads than that still leave the home page answering at once."""
    ready = ready_letter(db, make_user, status="published")  # no build queued, no worker here: each download waits
    monkeypatch.setattr(settings, "document_wait_seconds", 2.0)
    finished: list[str] = []

    def download(n: int) -> int:
        name = "press-pack.zip" if n % 2 else "press/letter.pdf"
        code = client.get(f"/letters/{ready.letter.slug}/{name}").status_code
        finished.append("download")
        return code

    with ThreadPoolExecutor(max_workers=settings.serve_threads + 3) as pool:
        waiting = [pool.submit(download, n) for n in range(settings.serve_threads + 2)]
        import time

        time.sleep(0.3)  # the downloads are waiting now
        assert client.get("/").status_code == 200
        finished.append("home page")
        assert [f.result() for f in waiting] == [503] * len(waiting)
    assert finished[0] == "home page", finished
