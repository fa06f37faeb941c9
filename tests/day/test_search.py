"""Search finds published letters by recipient, signatory, tag and words of the text (FTS5 on SQLite, full-text
search on PostgreSQL, one function)."""

from __future__ import annotations

import re

import pytest

from tests.publishing.helpers import ready_letter

pytestmark = pytest.mark.browser


def _published(db, make_user):
    from backend.publishing import service

    ready = ready_letter(db, make_user)
    service.publish(session=db, letter=ready.letter, user=ready.lead, ip=None)
    db.commit()
    return ready


def test_one_search_function(db, make_user):
    from backend.publishing import service

    ready = _published(db, make_user)

    def found(**terms):
        return [letter.id for letter in service.search(session=db, **terms)]

    assert found(text="protesting matters") == [ready.letter.id]  # stemmed words, in any order
    assert found(text="right protest everyone") == [ready.letter.id]
    assert found(text="Jane Doe") == [ready.letter.id]  # the words box looks at every field
    assert found(text="protest asylum") == []
    assert found(recipient="home secretary") == [ready.letter.id]
    assert found(recipient="Zebra") == []
    assert found(organisation="zebra crossing") == [ready.letter.id]
    assert found(organisation="Home Office") == []
    assert found(tag="Civil Liberties") == [ready.letter.id]
    assert found(tag="housing") == []
    assert found(text='"); DROP TABLE letter; --') == []  # no search syntax gets through


def test_search_from_the_home_page(page, live_server, smtp, db, make_user, axe_check):
    ready = _published(db, make_user)
    page.goto("/")
    page.get_by_role("link", name="All published letters, with search").click()
    page.fill("#f-recipient", "secretary")
    page.fill("#f-organisation", "friends park")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url(re.compile(r"/letters\?"))
    assert page.get_by_role("heading", name="1 letter found").is_visible()
    axe_check(page)
    page.get_by_role("link", name=ready.letter.title).click()
    page.wait_for_url(re.compile(rf"/letters/{ready.letter.slug}$"))
