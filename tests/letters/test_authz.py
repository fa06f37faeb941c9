"""Every campaign and letter route, walked as anonymous, outsider, viewer, editor and lead."""

from __future__ import annotations

import pytest

from backend.campaigns import service as campaigns
from backend.campaigns.models import CoalitionMember
from tests.campaigns.helpers import arrange
from tests.publishing.helpers import build_staff_pdf

RANK = {"outsider": 0, "viewer": 1, "editor": 2, "lead": 3}


def routes(c, invite_id, lead_member_id):
    """(method, path, data, role needed) for every route of a campaign and its letter."""
    camp, let = f"/campaigns/{c.campaign.slug}", f"/letters/{c.letter.slug}"
    return [
        ("GET", camp, None, "viewer"),
        ("POST", f"{camp}/invites", {"email": ""}, "lead"),
        ("POST", f"{camp}/invites/{invite_id}/revoke", {}, "lead"),
        ("POST", f"{camp}/members/{lead_member_id}", {"role": "x"}, "lead"),
        ("POST", f"{camp}/members/{lead_member_id}/remove", {}, "lead"),
        ("GET", f"{camp}/letters/new", None, "editor"),
        ("POST", f"{camp}/letters/new", {"title": ""}, "editor"),
        ("POST", f"{camp}/letters/preview", {"body": "x"}, "editor"),
        ("GET", f"{let}/overview", None, "viewer"),
        ("GET", f"{let}/edit", None, "editor"),
        ("POST", f"{let}/edit", {"title": ""}, "editor"),
        ("POST", f"{let}/preview", {"body": "x"}, "editor"),
        ("GET", f"{let}/versions", None, "viewer"),
        ("GET", f"{let}/versions/1", None, "viewer"),
        ("GET", f"{let}/diff?from=1&to=1", None, "viewer"),
        ("GET", f"{let}/pdf", None, "viewer"),
    ]


@pytest.mark.parametrize("who", ["anonymous", "outsider", "viewer", "editor", "lead"])
def test_every_route_by_role(who, client, db, make_user, login, post, settings, engine):
    c = arrange(db, make_user)
    invite, _ = campaigns.create_invite(session=db, campaign=c.campaign, email="p@q.example", organisation_name="Q",
                                        role="viewer", invited_by=c.lead, settings=settings)
    lead_member = next(m for m, _ in campaigns.get_members(session=db, campaign_id=c.campaign.id)
                       if m.role == "lead")
    db.commit()
    assert isinstance(lead_member, CoalitionMember)
    if RANK.get(who, 0) >= RANK["viewer"]:
        build_staff_pdf(engine, c.letter.id)  # the worker's job: GET {letter}/pdf serves it
    if who != "anonymous":
        login(client, getattr(c, who))
    failures = []
    for method, path, data, needed in routes(c, invite.id, lead_member.id):
        response = client.get(path) if method == "GET" else post(client, path, data, page="/login")
        status = response.status_code
        location = response.headers.get("location", "")
        if who == "anonymous":
            ok = status == 303 and location.startswith("/login?next=")
        elif RANK[who] >= RANK[needed]:
            ok = status in (200, 303, 404, 422) and not location.startswith("/login")
            if method == "GET":
                ok = status == 200
        else:  # an outsider gets the answer a missing page gets: they cannot tell what exists
            ok = status == (404 if who == "outsider" else 403)
        if not ok:
            failures.append(f"{who} {method} {path}: {status} {location}")
    assert not failures, "\n".join(failures)


def test_pages_open_to_any_logged_in_user(client, db, make_user, login):
    for path in ("/campaigns", "/recipients", "/campaigns/new"):
        assert client.get(path).status_code == 303
    login(client, make_user(organisation="Somewhere"))
    for path in ("/campaigns", "/recipients", "/campaigns/new"):
        assert client.get(path).status_code == 200


def test_outsider_sees_no_other_coalitions_campaigns(client, db, make_user, login):
    c = arrange(db, make_user)
    login(client, c.outsider)
    page = client.get("/campaigns").text
    assert "Another coalition" in page and "Safe routes now" not in page


def test_unknown_letter_and_campaign_are_404(client, db, make_user, login):
    login(client, make_user(organisation="Org"))
    assert client.get("/letters/nope/overview").status_code == 404
    assert client.get("/campaigns/nope").status_code == 404
