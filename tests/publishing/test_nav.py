"""The letter's navigation (templates/letters/_nav.html) reads booleans from every page that shows it: an editor
is offered "Edit" on each of them while the text can change, a viewer on none."""

from __future__ import annotations

from typing import Any

from tests.publishing.helpers import ready_letter

PAGES = ("/overview", "/versions", "/publish", "/commitments", "/signatories", "/tracking")


def _member(db: Any, make_user: Any, campaign_id: int, email: str, role: str) -> Any:
    from backend.accounts import service as accounts
    from backend.campaigns import service as campaigns

    user = make_user(email=email, name=role.title(), organisation=f"Partner {role}")
    campaign: Any = campaigns.get(session=db, campaign_id=campaign_id)
    campaigns.add_member(session=db, campaign=campaign,
                         organisation=accounts.organisations_of(session=db, user_id=user.id)[0], role=role)
    return user


def _edit_link(html: str, slug: str) -> bool:
    nav = html[html.index('class="subnav"'):]
    return f'href="/letters/{slug}/edit"' in nav[:nav.index("</nav>")]


def test_edit_is_offered_to_editors_on_every_page_with_the_navigation(db: Any, make_user: Any, client: Any,
                                                                       login: Any) -> None:
    ready = ready_letter(db, make_user, status="open")
    slug = ready.letter.slug
    editor = _member(db, make_user, ready.letter.campaign_id, "ed@partner.example", "editor")
    viewer = _member(db, make_user, ready.letter.campaign_id, "vi@partner.example", "viewer")
    db.commit()
    for user, offered in ((editor, True), (viewer, False)):
        client.cookies.clear()
        login(client, user)
        for page in PAGES:
            r = client.get(f"/letters/{slug}{page}")
            assert r.status_code == 200, page
            assert _edit_link(r.text, slug) is offered, (user.email, page)
