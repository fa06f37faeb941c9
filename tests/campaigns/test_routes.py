"""Campaign pages: list, create, coalition roles and coalition invites by email."""

from __future__ import annotations

from sqlmodel import select

from backend.accounts import service as accounts
from backend.campaigns import service as campaigns
from backend.campaigns.models import Campaign, CoalitionInvite, CoalitionMember
from tests.campaigns.helpers import arrange, fresh


def test_create_campaign_makes_the_users_organisation_lead(client, db, make_user, login, post):
    user = make_user(organisation="Refugee Action Example")
    login(client, user)
    response = post(client, "/campaigns/new", {"title": "  Safe   routes now ", "description": ""})
    assert response.status_code == 303
    campaign = db.exec(select(Campaign)).one()
    assert campaign.title == "Safe routes now"
    assert response.headers["location"] == f"/campaigns/{campaign.slug}"
    assert campaigns.role_of(session=db, campaign_id=campaign.id, user=user) == "lead"
    page = client.get("/campaigns")
    assert "Safe routes now" in page.text
    page = client.get(response.headers["location"])
    assert page.status_code == 200 and "Refugee Action Example" in page.text


def test_create_campaign_without_title_keeps_input(client, db, make_user, login, post):
    user = make_user(organisation="Org A")
    login(client, user)
    response = post(client, "/campaigns/new", {"title": "  ", "description": "Our <b>plan</b>"})
    assert response.status_code == 422
    assert "Enter a title for the campaign." in response.text
    assert "Our &lt;b&gt;plan&lt;/b&gt;" in response.text
    assert db.exec(select(Campaign)).first() is None


def test_user_with_several_organisations_chooses_the_lead(client, db, make_user, login, post):
    user = make_user(organisation="First Org")
    second = accounts.create_organisation(session=db, name="Second Org")
    accounts.add_membership(session=db, user=user, organisation=second)
    db.commit()
    login(client, user)
    response = post(client, "/campaigns/new", {"title": "Two orgs"})
    assert response.status_code == 422 and "Choose the organisation" in response.text
    response = post(client, "/campaigns/new", {"title": "Two orgs", "organisation": str(second.id)})
    assert response.status_code == 303
    assert db.exec(select(Campaign)).one().lead_organisation_id == second.id


def test_other_users_organisation_cannot_be_chosen(client, db, make_user, login, post):
    user = make_user(organisation="Mine")
    other = make_user(organisation="Theirs")
    theirs = accounts.organisations_of(session=db, user_id=other.id)[0]
    login(client, user)
    response = post(client, "/campaigns/new", {"title": "Sneaky", "organisation": str(theirs.id)})
    # The user's only organisation is used instead: never someone else's.
    assert response.status_code == 303
    fresh(db)
    assert db.exec(select(Campaign)).one().lead_organisation_id != theirs.id


def test_unverified_user_cannot_create(client, db, make_user, login, post):
    user = make_user(organisation="Org", verified=False)
    login(client, user)
    assert client.get("/campaigns/new").status_code == 403


def test_invite_accept_flow(client, db, make_user, login, post, smtp, deliver):
    c = arrange(db, make_user, with_letter=False)
    login(client, c.lead)
    url = f"/campaigns/{c.campaign.slug}"
    response = post(client, f"{url}/invites",
                    {"email": "New.Partner@Friends.example", "organisation_name": "Friends Trust", "role": "editor"},
                    page=url)
    assert response.status_code == 303
    assert deliver() == 1
    mail = smtp.wait_for(1, to="new.partner@friends.example")[0]
    assert "Safe routes now" in mail.subject
    link = next(link for link in mail.links() if "/coalition/invites/" in link)
    path = link.removeprefix("http://testserver")
    invite = db.exec(select(CoalitionInvite)).one()
    assert path.rsplit("/", 1)[1] not in invite.token_hash  # only the hash is stored
    db.commit()  # end the read so the next write is not blocked

    client.cookies.clear()
    anonymous = client.get(path)
    # An anonymous visitor is told what the link is, and offered log-in (back to the link) or sign-up.
    assert anonymous.status_code == 200 and f'href="/login?next={path}"' in anonymous.text

    # Someone else who got the forwarded link cannot accept it.
    login(client, c.outsider)
    page = client.get(path)
    assert page.status_code == 200 and "This invitation is for someone else" in page.text
    assert post(client, path, {"organisation": "new"}).status_code == 403

    client.cookies.clear()
    db.commit()  # end any read so this write sees the app's commits
    partner = make_user(email="new.partner@friends.example", name="Pat Partner")
    login(client, partner)
    page = client.get(path)
    assert page.status_code == 200 and "Friends Trust" in page.text
    # GET changed nothing.
    fresh(db)
    assert db.get(CoalitionInvite, invite.id).accepted_at is None
    response = post(client, path, {"organisation": "new"})
    assert response.status_code == 303 and response.headers["location"] == url
    fresh(db)
    org = accounts.organisations_of(session=db, user_id=partner.id)[0]
    assert org.name == "Friends Trust"
    assert campaigns.role_of(session=db, campaign_id=c.campaign.id, user=partner) == "editor"
    # The link works once.
    assert client.get(path).status_code == 400


def test_invite_bad_input_keeps_input(client, db, make_user, login, post):
    c = arrange(db, make_user, with_letter=False)
    login(client, c.lead)
    url = f"/campaigns/{c.campaign.slug}"
    response = post(client, f"{url}/invites", {"email": "not-an-email", "organisation_name": "Friends Trust",
                                               "role": "editor"}, page=url)
    assert response.status_code == 422
    assert "not-an-email" in response.text and "Friends Trust" in response.text
    response = post(client, f"{url}/invites", {"email": "a@b.example", "organisation_name": "F", "role": "lead"},
                    page=url)
    assert response.status_code == 422 and "Choose editor or viewer." in response.text
    assert db.exec(select(CoalitionInvite)).first() is None


def test_revoked_invite_link_stops_working(client, db, make_user, login, post, settings):
    c = arrange(db, make_user, with_letter=False)
    invite, token = campaigns.create_invite(session=db, campaign=c.campaign, email="x@y.example",
                                            organisation_name="X", role="viewer", invited_by=c.lead, settings=settings)
    db.commit()
    login(client, c.lead)
    url = f"/campaigns/{c.campaign.slug}"
    assert post(client, f"{url}/invites/{invite.id}/revoke", page=url).status_code == 303
    client.cookies.clear()
    db.commit()
    login(client, make_user(email="x@y.example"))
    response = client.get(f"/coalition/invites/{token}")
    assert response.status_code == 400 and "withdrawn" in response.text


def test_lead_changes_and_removes_roles(client, db, make_user, login, post):
    c = arrange(db, make_user, with_letter=False)
    url = f"/campaigns/{c.campaign.slug}"
    member = db.exec(select(CoalitionMember).where(CoalitionMember.role == "editor")).one()
    lead_member = db.exec(select(CoalitionMember).where(CoalitionMember.role == "lead")
                          .where(CoalitionMember.campaign_id == c.campaign.id)).one()
    login(client, c.editor)
    assert post(client, f"{url}/members/{member.id}", {"role": "viewer"}, page=url).status_code == 403
    client.cookies.clear()
    login(client, c.lead)
    assert post(client, f"{url}/members/{member.id}", {"role": "viewer"}, page=url).status_code == 303
    fresh(db)
    assert campaigns.role_of(session=db, campaign_id=c.campaign.id, user=c.editor) == "viewer"
    assert post(client, f"{url}/members/{lead_member.id}", {"role": "viewer"}, page=url).status_code == 422
    assert post(client, f"{url}/members/{lead_member.id}/remove", page=url).status_code == 422
    assert post(client, f"{url}/members/{member.id}/remove", page=url).status_code == 303
    fresh(db)
    assert campaigns.role_of(session=db, campaign_id=c.campaign.id, user=c.editor) is None
    client.cookies.clear()
    login(client, c.editor)
    assert client.get(url).status_code == 404  # no longer in the coalition: as if there were no campaign
