"""Point 11: the lead corrects the spelling of a listing; the signatory is told by email."""

from __future__ import annotations

import re

import pytest

from tests.conftest import csrf_from
from tests.day.helpers import shot, to_letter
from tests.publishing.helpers import ready_letter


@pytest.mark.browser
def test_the_lead_corrects_a_listings_spelling(page, live_server, smtp, db, make_user, axe_check):
    ready = ready_letter(db, make_user)
    to_letter(page, ready.lead, ready.letter.title)
    page.locator("nav.subnav").get_by_role("link", name="Signatories").click()
    page.wait_for_url(re.compile(r"/signatories$"))
    page.get_by_text("Correct the name Friends of the Park").click()
    field = page.get_by_label("Name as it should be listed").first
    # A name already listed is refused, in the page, with what was typed kept.
    field.fill("zebra crossing  trust")
    page.get_by_role("button", name="Correct the name").first.click()
    page.wait_for_load_state()
    assert "Another signature on this letter is already listed under that name." in page.content()
    assert page.get_by_label("Name as it should be listed").first.input_value() == "zebra crossing  trust"
    axe_check(page)
    page.get_by_label("Name as it should be listed").first.fill("Friends of the Parks")
    page.get_by_role("button", name="Correct the name").first.click()
    page.wait_for_url(re.compile(r"/signatories$"))
    assert "“Friends of the Park” now reads “Friends of the Parks”. They have been told by email." in page.content()
    axe_check(page)
    shot(page, "11-listing-corrected")
    told = smtp.wait_for(1, to="signer0@sig.example")[-1]
    assert "was corrected" in told.subject
    assert "It read:      Friends of the Park" in told.text and "It now reads: Friends of the Parks" in told.text


def test_only_the_lead_corrects_and_bad_names_are_refused(client, db, make_user, login):
    from backend.accounts import service as accounts
    from backend.campaigns import service as campaigns
    from backend.campaigns.models import Campaign
    from backend.signatures.models import Signature

    ready = ready_letter(db, make_user)
    friends = ready.signatures[0]
    url = f"/letters/{ready.letter.slug}/signatories"
    editor = make_user(email="editor@partner.example", organisation="Partner Trust")
    partner = accounts.organisations_of(session=db, user_id=editor.id)[0]
    campaigns.add_member(session=db, campaign=db.get(Campaign, ready.letter.campaign_id), organisation=partner,
                         role="editor")
    db.commit()
    login(client, ready.lead)
    page = client.get(url).text
    # Hidden characters go at the door (backend/text.py): this one is the name already listed.
    for bad, message in (("Friends of the\u202e Park\u200b", "already reads"),
                         ("", "Enter the name as it should be listed"),
                         ("https://spam.example", "no web addresses"),
                         ("Friends of the Park", "already reads")):
        r = client.post(f"{url}/{friends.id}/correct", data={"csrf_token": csrf_from(page), "display_name": bad})
        assert r.status_code == 422 and message in r.text, (bad, r.text[:200])
    db.expire_all()
    assert db.get(Signature, friends.id).display_name == "Friends of the Park"
    assert client.post(f"{url}/999999/correct", data={"csrf_token": csrf_from(page),
                                                      "display_name": "X"}).status_code == 404
    # An editor may not (the lead moderates listings); an outsider does not learn the letter exists.
    for who, status in ((editor, 403), (make_user(email="outsider@else.example"), 404)):
        client.cookies.clear()
        login(client, who)
        r = client.post(f"{url}/{friends.id}/correct", data={"csrf_token": csrf_from(client.get("/campaigns").text),
                                                            "display_name": "Hijacked"})
        assert r.status_code == status, who.email
    db.expire_all()
    assert db.get(Signature, friends.id).display_name == "Friends of the Park"
