"""Shared helpers for the campaigner's-day journeys: log in and start from the campaigns page."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from backend.config import get_settings

SHOTS = Path("/tmp/16-shots")


def log_in(page: Any, user: Any) -> None:
    page.goto("/login")
    page.fill("#f-email", user.email)
    page.fill("#f-password", user.password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()


def to_letter(page: Any, user: Any, title: str) -> None:
    """Logs in, opens the campaigns page and clicks through to the letter's overview."""
    log_in(page, user)
    page.goto("/campaigns")
    page.get_by_role("link", name=title).first.click()
    page.wait_for_url(re.compile(r"/letters/[^/]+/overview$"))


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def path_of(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


def sent_letter(db: Any, make_user: Any, *, embargo_in: Any = None, days_ago: int = 3) -> Any:
    """A closed letter with four signatories, sent by post to the Home Secretary a few days ago."""
    from datetime import timedelta

    from sqlmodel import select

    from backend.letters.models import LetterRecipient
    from backend.responses import dispatch, tracking
    from tests.publishing.helpers import ready_letter

    ready = ready_letter(db, make_user, embargo_in=embargo_in)
    link = db.exec(select(LetterRecipient).where(LetterRecipient.letter_id == ready.letter.id)).one()
    dispatch.send(settings=get_settings(), session=db, letter=ready.letter, user=ready.lead, choices=[
        dispatch.SendChoice(link.id, "post", sent_on=tracking.today() - timedelta(days=days_ago))])
    db.commit()
    ready.link = link
    return ready
