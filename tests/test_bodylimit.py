"""Body limits before parsing: the size is checked from Content-Length and while the body streams, per kind of form,
and a body over its limit is answered 413 without being read (so none of it reaches a temporary file)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import csrf_from
from tests.signatures.helpers import open_letter, sign_data, signatures


@pytest.fixture
def rollovers(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Each time a spooled upload went from memory to a file on disk."""
    seen: list[int] = []
    original = tempfile.SpooledTemporaryFile.rollover

    def rollover(self: Any) -> None:
        seen.append(1)
        original(self)

    monkeypatch.setattr(tempfile.SpooledTemporaryFile, "rollover", rollover)
    return seen


def _multipart_stream(token: str, size: int) -> Iterator[bytes]:
    """A login form with a big file part, sent in chunks with no Content-Length (as a chunked upload)."""
    yield (b'--B\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n' + token.encode() + b"\r\n"
           b'--B\r\nContent-Disposition: form-data; name="upload"; filename="big.bin"\r\n'
           b"Content-Type: application/octet-stream\r\n\r\n")
    chunk = b"x" * 65536
    for _ in range(size // len(chunk)):
        yield chunk
    yield b"\r\n--B--\r\n"


def test_a_big_file_part_to_login_is_refused_while_streaming_and_never_written(client, rollovers):
    token = csrf_from(client.get("/login").text)
    sent: list[int] = []

    def body() -> Iterator[bytes]:
        for chunk in _multipart_stream(token, 20 * 1024 * 1024):
            sent.append(len(chunk))
            yield chunk

    response = client.post("/login", content=body(), headers={"content-type": "multipart/form-data; boundary=B"})
    assert response.status_code == 413 and "larger than this form takes (64 KB at most)" in response.text
    assert rollovers == []  # nothing of it went to disk


def test_a_declared_size_over_the_limit_is_refused_before_reading(client, rollovers):
    token = csrf_from(client.get("/login").text)
    body = b"".join(_multipart_stream(token, 2 * 1024 * 1024))
    response = client.post("/login", content=body, headers={"content-type": "multipart/form-data; boundary=B",
                                                            "content-length": str(len(body))})
    assert response.status_code == 413 and rollovers == []
    json_answer = client.post("/login", content=body, headers={"content-type": "multipart/form-data; boundary=B",
                                                               "accept": "application/json"})
    assert json_answer.status_code == 413 and "at most" in json_answer.json()["detail"]


def test_a_form_with_a_logo_takes_more_than_a_plain_form(client, db, make_user):
    from backend import bodylimit

    assert bodylimit.limit_for("/login") == bodylimit.PLAIN
    assert bodylimit.limit_for("/confirm/abc") == bodylimit.PLAIN
    assert bodylimit.limit_for("/letters/a-letter/sign") == bodylimit.LOGO
    assert bodylimit.limit_for("/letters/a-letter/responses/new") == bodylimit.ATTACHMENT
    setup = open_letter(db, make_user, open_signon_enabled=True)
    url = f"/letters/{setup.letter.slug}/sign"
    token = csrf_from(client.get(url).text)
    logo = ("logo.png", b"\x89PNG" + b"0" * (500 * 1024), "image/png")  # over PLAIN, under LOGO: the form says why
    response = client.post(url, data={"csrf_token": token, **sign_data(setup.letter.current_version_id)},
                           files={"logo": logo})
    assert response.status_code == 422 and "logo" in response.text.lower()
    huge = ("logo.png", b"\x89PNG" + b"0" * (4 * 1024 * 1024), "image/png")
    response = client.post(url, data={"csrf_token": token, **sign_data(setup.letter.current_version_id)},
                           files={"logo": huge})
    assert response.status_code == 413 and "3 MB at most" in response.text
    assert signatures(db) == []
