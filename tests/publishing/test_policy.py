"""The publish page's booleans (backend/publishing/policy.py): what each coalition role is offered."""

from datetime import timedelta

from backend.db import utcnow
from backend.letters.models import Letter
from backend.publishing.policy import publish_page


def _letter(status: str = "open", embargo_in: timedelta | None = timedelta(days=1)) -> Letter:
    return Letter(campaign_id=1, title="T", slug="t", status=status,
                  embargo_at=utcnow() + embargo_in if embargo_in is not None else None)


def test_the_lead_is_offered_everything_before_publication() -> None:
    page = publish_page(_letter(), "lead")
    assert all(page[k] for k in ("can_publish", "can_move_embargo", "can_create_press_link",
                                 "can_revoke_press_link", "can_resend_press_link"))


def test_editors_viewers_and_outsiders_are_offered_nothing() -> None:
    for role in ("editor", "viewer", None):
        page = publish_page(_letter(), role)
        assert not any(v for k, v in page.items() if k.startswith("can_")), role


def test_after_publication_only_revoking_remains() -> None:
    page = publish_page(_letter(status="published"), "lead")
    assert page["can_revoke_press_link"] and page["can_publish"]
    assert not (page["can_move_embargo"] or page["can_create_press_link"] or page["can_resend_press_link"])


def test_no_resend_once_the_embargo_has_passed() -> None:
    assert not publish_page(_letter(embargo_in=timedelta(minutes=-1)), "lead")["can_resend_press_link"]
    assert not publish_page(_letter(embargo_in=None), "lead")["can_resend_press_link"]
