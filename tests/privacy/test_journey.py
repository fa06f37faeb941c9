"""The erasure journey in a browser: an individual signs through the open link and confirms by email; the letter
is published; from the link in their receipt they open what is held about them, download it, and erase it. The
public page, the API and a press pack downloaded afterwards no longer carry their name."""

from __future__ import annotations

import io
import json
import re
import zipfile
from typing import Any

import pytest

from tests.signatures.helpers import open_letter

pytestmark = pytest.mark.browser

NAME = "Iris Quillfeather"
EMAIL = "iris@quill.example"


def _path(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


def test_an_individual_erases_themselves_after_publication(page: Any, live_server: Any, smtp: Any, db: Any,
                                                           make_user: Any, axe_check: Any, tmp_path: Any) -> None:
    from backend.publishing import service as publishing

    setup = open_letter(db, make_user, open_signon_enabled=True, allow_individuals=True,
                        moderate_open_signons=False)
    slug = setup.letter.slug

    page.goto(f"/letters/{slug}/sign")
    page.check("#f-kind-ind")
    page.fill("#f-signer_name", NAME)
    page.fill("#f-signer_role", "Retired teacher")
    page.fill("#f-contact_email", EMAIL)
    page.check("#f-attested")
    page.get_by_role("button", name="Sign the letter").click()
    page.wait_for_url(re.compile(r"/sign/sent$"))
    confirm = smtp.wait_for(1, to=EMAIL)[-1]
    page.goto(_path(next(link for link in confirm.links() if "/confirm/" in link)))
    page.get_by_role("button", name=re.compile("Confirm")).click()
    page.wait_for_url(re.compile(r"/manage/"))
    receipt = smtp.wait_for(2, to=EMAIL)[-1]
    manage_link = _path(next(link for link in receipt.links() if "/manage/" in link))

    publishing.publish(session=db, letter=setup.letter, user=setup.lead, ip=None)
    db.commit()
    assert NAME in page.request.get(f"/letters/{slug}").text()
    assert page.request.get(f"/letters/{slug}/press-pack.zip").status == 200  # built once with the name

    # From the receipt's link: what is held, downloaded, then erased.
    page.goto(manage_link)
    page.get_by_role("link", name="See, download or erase what we hold about you").click()
    page.wait_for_url(re.compile(r"/data$"))
    assert EMAIL in page.content() and "Version 1" in page.content()
    axe_check(page)
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download all of it (JSON)").click()
    saved = tmp_path / "mine.json"
    download_info.value.save_as(saved)
    assert json.loads(saved.read_text())["signature"]["signer_name"] == NAME
    page.screenshot(path="/tmp/17-data.png", full_page=True)
    page.get_by_role("button", name="Erase my data").click()
    assert "Tick the box" in page.content()
    page.check("#f-confirm")
    page.get_by_role("button", name="Erase my data").click()
    page.wait_for_load_state()
    assert "Your data is erased" in page.content()
    axe_check(page)

    # A member of the public, in a browser of their own (a browser keeps a public page for a minute).
    visitor = page.context.browser.new_context(base_url=live_server.url).new_page()
    visitor.goto(f"/letters/{slug}")
    assert NAME not in visitor.content() and "1 name removed" in visitor.content()
    visitor.screenshot(path="/tmp/17-public.png", full_page=True)
    visitor.context.close()
    for path in (f"/api/v1/letters/{slug}", f"/api/v1/letters/{slug}/signatories",
                 f"/letters/{slug}/press/signatories.csv"):
        assert NAME not in page.request.get(path).text(), path
    archive = zipfile.ZipFile(io.BytesIO(page.request.get(f"/letters/{slug}/press-pack.zip").body()))
    from pypdf import PdfReader

    for name in archive.namelist():
        data = archive.read(name)
        if name.endswith(".pdf"):
            text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
        elif name.endswith(".docx"):
            inner = zipfile.ZipFile(io.BytesIO(data))
            text = "".join(inner.read(n).decode("utf-8", "replace") for n in inner.namelist())
        else:
            text = data.decode("utf-8", "replace")
        assert NAME not in text, name
