"""Small things seen: the lead's PDF lists the signatories; the press pack README lists only the files present."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from tests.day.helpers import to_letter
from tests.publishing.helpers import ready_letter

pytestmark = pytest.mark.browser


def test_readme_lists_only_files_present(db, make_user):
    from backend.publishing import pack

    ready = ready_letter(db, make_user, with_logo=False)
    ctx = pack.context(session=db, letter=ready.letter, embargoed=True)
    text = pack.readme(ctx=ctx, files=["letter.pdf", "letter.docx", "signatories.csv"])
    assert "logos/" not in text and "press-release" not in text
    assert "signatories.csv" in text
    with_logos = pack.readme(ctx=ctx, files=["letter.pdf", "logos/01.png"])
    assert "logos/" in with_logos and "signatories.csv" not in with_logos


def test_lead_pdf_lists_the_signatories(page, live_server, smtp, db, make_user):
    ready = ready_letter(db, make_user)
    to_letter(page, ready.lead, ready.letter.title)
    with page.expect_download() as info:
        page.locator("nav.subnav").get_by_role("link", name="Download the PDF").click()
    data = info.value.path().read_bytes()
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
    assert "Friends of the Park" in text and "Zebra Crossing Trust" in text
