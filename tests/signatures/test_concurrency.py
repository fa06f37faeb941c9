"""Parallel submissions against the live server: one signature per organisation, and many distinct sign-ons."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlmodel import col, func, select

from tests.conftest import csrf_from
from tests.signatures.helpers import open_letter, sign_data


@pytest.fixture
def generous_limits(monkeypatch, live_server):
    """Every request here comes from 127.0.0.1, so the per-IP limits are raised for these tests (in the live
    server's own settings, which the routes read)."""
    monkeypatch.setattr(live_server.settings, "rate_limit_sign", "100000/minute")
    monkeypatch.setattr(live_server.settings, "rate_limit_sign_confirm", "100000/minute")


def _submit(base_url: str, slug: str, data: dict) -> tuple[int, str]:
    with httpx.Client(base_url=base_url, timeout=120, follow_redirects=False) as c:
        page = c.get(f"/letters/{slug}/sign")
        response = c.post(f"/letters/{slug}/sign", data={"csrf_token": csrf_from(page.text), **data})
        return response.status_code, response.text


def test_fifty_parallel_submissions_for_one_organisation(live_server, live_worker, db, make_user, smtp,
                                                         generous_limits):
    from backend.mail.models import OutboundEmail
    from backend.signatures.models import Signature

    setup = open_letter(db, make_user, open_signon_enabled=True)
    vid = setup.letter.current_version_id
    names = ["Friends of the Park", "friends of the park", "  Friends  of the PARK "]
    jobs = [sign_data(vid, display_name=names[n % 3], contact_email=f"person{n}@friends.example") for n in range(50)]
    with ThreadPoolExecutor(max_workers=25) as pool:
        results = list(pool.map(lambda d: _submit(live_server.url, setup.letter.slug, d), jobs))
    codes = sorted(code for code, _ in results)
    assert codes.count(303) == 1, codes
    assert codes.count(422) == 49, codes
    assert all("one signature per organisation" in text for code, text in results if code == 422)
    db.rollback()
    assert db.exec(select(func.count()).select_from(Signature)).one() == 1
    confirm_rows = db.exec(select(func.count()).select_from(OutboundEmail)
                           .where(col(OutboundEmail.template) == "signature_confirm")).one()
    assert confirm_rows == 1
    assert len(smtp.wait_for(1, timeout=60)) == 1


@pytest.mark.postgres
@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="the 500-sign-on run is for PostgreSQL")
def test_five_hundred_distinct_open_signons(live_server, live_worker, db, make_user, smtp, generous_limits):
    from backend.mail.models import OutboundEmail
    from backend.signatures.models import Signature

    setup = open_letter(db, make_user, open_signon_enabled=True)
    vid = setup.letter.current_version_id
    jobs = [sign_data(vid, display_name=f"Charity number {n}", contact_email=f"c{n}@charities.example")
            for n in range(500)]
    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(lambda d: _submit(live_server.url, setup.letter.slug, d), jobs))
    assert [code for code, _ in results].count(303) == 500, {code for code, _ in results}
    db.rollback()
    assert db.exec(select(func.count()).select_from(Signature)).one() == 500
    rows = db.exec(select(OutboundEmail.to_address).where(col(OutboundEmail.template) == "signature_confirm")).all()
    assert sorted(rows) == sorted(f"c{n}@charities.example" for n in range(500))
    received = smtp.wait_for(500, timeout=180)
    per_address: dict[str, int] = {}
    for mail in received:
        for address in mail.envelope_to:
            per_address[address] = per_address.get(address, 0) + 1
    assert len(per_address) == 500 and set(per_address.values()) == {1}


def test_a_hundred_parallel_sign_ons_from_one_address_hold_to_the_limit(live_server, db, make_user):
    """The default limit (20 a minute per address) holds under a burst: the hit is counted before the work."""
    from backend.config import get_settings
    from backend.signatures.models import Signature

    assert get_settings().rate_limit_sign == "20/minute"
    setup = open_letter(db, make_user, open_signon_enabled=True)
    vid = setup.letter.current_version_id
    slug = setup.letter.slug
    with httpx.Client(base_url=live_server.url, timeout=120) as c:
        token = csrf_from(c.get(f"/letters/{slug}/sign").text)
        cookies = dict(c.cookies)

    def post(n: int) -> int:
        with httpx.Client(base_url=live_server.url, timeout=120, cookies=cookies) as c:
            data = sign_data(vid, display_name=f"Charity {n}", contact_email=f"c{n}@charities.example")
            return c.post(f"/letters/{slug}/sign", data={"csrf_token": token, **data},
                          files={"logo": ("", b"", "application/octet-stream")}).status_code

    with ThreadPoolExecutor(max_workers=100) as pool:
        codes = list(pool.map(post, range(100)))
    assert set(codes) <= {303, 429}, codes
    assert codes.count(303) <= 20 and codes.count(303) + codes.count(429) == 100, codes
    db.rollback()
    assert db.exec(select(func.count()).select_from(Signature)).one() == codes.count(303)
