"""The publication journey in a browser: the lead schedules publication two minutes ahead and shares a press
link; before the minute every public route answers 404 and the press link gives an embargoed pack; at the minute
the scheduler publishes without anyone doing anything, the pack says FOR IMMEDIATE RELEASE and signatories are
emailed."""

from __future__ import annotations

import io
import re
import time
import zipfile
from datetime import timedelta
from typing import Any

import pytest

from tests.publishing.helpers import public_paths, ready_letter

pytestmark = pytest.mark.browser


def _readme(body: bytes, slug: str) -> str:
    return zipfile.ZipFile(io.BytesIO(body)).read(f"{slug}-press-pack/README.txt").decode()


def test_scheduled_publication_with_a_press_link(page: Any, live_server: Any, smtp: Any, db: Any, make_user: Any,
                                                 axe_check: Any, clock: Any) -> None:
    ready = ready_letter(db, make_user, embargo_in=timedelta(minutes=2))
    slug = ready.letter.slug
    paths = public_paths(slug, ready.signatures[0].id)

    page.goto("/login")
    page.fill("#f-email", ready.lead.email)
    page.fill("#f-password", ready.lead.password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()

    page.goto(f"/letters/{slug}/overview")
    page.get_by_role("link", name="Publish", exact=True).click()
    page.wait_for_url(re.compile(r"/publish$"))
    axe_check(page)
    page.get_by_role("button", name="Schedule at embargo").click()
    page.wait_for_url(re.compile(r"/publish$"))
    assert "Publication is scheduled at the embargo." in page.content()

    page.fill("#f-journalist", "Jo Journalist")
    page.fill("#f-outlet", "The Daily")
    page.get_by_role("button", name="Create a press link").click()
    page.wait_for_load_state()
    press_url = page.locator("code.press-link").inner_text()
    press_path = re.sub(r"^https?://[^/]+", "", press_url)
    axe_check(page)

    # Before the embargo: nothing public, to anyone (a fresh browser context has no session).
    page.context.clear_cookies()
    for path in paths:
        assert page.request.get(path).status == 404, path
    assert f"/letters/{slug}" not in page.request.get("/letters").text()
    page.goto(press_path)
    assert "EMBARGOED UNTIL" in page.content()
    axe_check(page)
    embargoed = page.request.get(press_path + "/press-pack.zip")
    assert embargoed.status == 200 and "EMBARGOED UNTIL" in _readme(embargoed.body(), slug)

    # The minute comes: the live server's worker publishes on its own.
    clock(timedelta(minutes=3))
    deadline = time.monotonic() + 60
    while page.request.get(f"/letters/{slug}").status != 200 and time.monotonic() < deadline:
        time.sleep(0.2)
    page.goto(f"/letters/{slug}")
    assert "Protect the right to protest" in page.content()
    axe_check(page)
    for path in paths:
        assert page.request.get(path).status == 200, path
    public = page.request.get(f"/letters/{slug}/press-pack.zip")
    readme = _readme(public.body(), slug)
    assert "FOR IMMEDIATE RELEASE" in readme and "EMBARGOED" not in readme
    # The press link now leads to the public page.
    assert page.request.get(press_path, max_redirects=0).status == 303
    assert page.request.get(press_path).url.endswith(f"/letters/{slug}")

    mails = smtp.wait_for(4)
    assert {m.to for m in mails} >= {f"signer{i}@sig.example" for i in range(4)}
    assert all(m.subject == "Published: Protect the right to protest" for m in mails)
