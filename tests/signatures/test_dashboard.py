"""The coalition's dashboard: invites from pasted lines and CSV, resend, revoke, reminders, states, CSV export."""

from __future__ import annotations

import csv
import io

from tests.signatures.helpers import audit_actions, invite_one, invites, link_in, open_letter, outbox, signatures


def test_invites_from_csv_upload_and_paste(client, post, login, db, make_user, deliver, smtp):
    setup = open_letter(db, make_user)
    login(client, setup.lead)
    url = f"/letters/{setup.letter.slug}/signatories"
    upload = "Organisation,Email\n\"Shelter, North\",a@north.example\nRiver Trust,b@river.example\n"
    response = post(client, url + "/invites", {"invites": "Cat Rescue, c@cats.example"}, page=url,
                    files={"invites_file": ("list.csv", upload.encode(), "text/csv")})
    assert response.status_code == 303, response.text
    assert sorted(i.organisation_name for i in invites(db)) == ["Cat Rescue", "River Trust", "Shelter, North"]
    assert deliver() == 3
    for address in ("a@north.example", "b@river.example", "c@cats.example"):
        assert "/sign/" in link_in(smtp.wait_for(1, to=address)[0], "/sign/")

    # Already invited: skipped, not doubled.
    response = post(client, url + "/invites", {"invites": "River Trust, B@River.example"}, page=url)
    assert response.status_code == 303 and len(invites(db)) == 3


def test_bad_invite_lines_keep_the_text_and_create_nothing(client, post, login, db, make_user):
    setup = open_letter(db, make_user)
    login(client, setup.lead)
    url = f"/letters/{setup.letter.slug}/signatories"
    text = "Good Org, good@org.example\nNo Email Org\nSpam http://x.example, s@x.example"
    response = post(client, url + "/invites", {"invites": text}, page=url)
    assert response.status_code == 422
    assert "Line 2" in response.text and "Line 3" in response.text
    assert "No Email Org" in response.text
    assert invites(db) == [] and outbox(db) == []


def test_resend_cap_revoke_and_one_reminder(client, post, login, db, make_user, deliver, smtp):
    setup = open_letter(db, make_user)
    assert invite_one(client, post, login, setup, "A Org, a@a.example\nB Org, b@b.example").status_code == 303
    url = f"/letters/{setup.letter.slug}/signatories"
    a, b = invites(db)
    deliver()
    first_link = link_in(smtp.wait_for(1, to="a@a.example")[0], "/sign/")
    for _ in range(3):
        assert post(client, f"{url}/invites/{a.id}/resend", {}, page=url).status_code == 303
    response = post(client, f"{url}/invites/{a.id}/resend", {}, page=url)
    assert response.status_code == 409 and "3 times" in response.text
    assert client.get(first_link).status_code == 200  # every link sent works until the invite is answered

    assert post(client, f"{url}/invites/{b.id}/revoke", {}, page=url).status_code == 303
    assert invites(db)[1].status == "revoked"

    assert post(client, f"{url}/remind", {}, page=url).status_code == 303
    assert post(client, f"{url}/remind", {}, page=url).status_code == 303
    deliver()
    reminders = [m for m in smtp.wait_for(5) if m.subject.startswith("Reminder")]
    assert [m.envelope_to for m in reminders] == [["a@a.example"]]
    actions = audit_actions(db)
    assert {"invites_created", "invite_resent", "invite_revoked", "invites_reminded"} <= set(actions)


def test_bounced_invite_is_shown(client, post, login, db, make_user, deliver, smtp):
    setup = open_letter(db, make_user)
    smtp.reject = (550, "No such user")
    invite_one(client, post, login, setup, "Gone Org, gone@nowhere.example")
    deliver()
    page = client.get(f"/letters/{setup.letter.slug}/signatories?state=bounced")
    assert 'data-state="bounced"' in page.text and "Gone Org" in page.text


def test_only_the_coalition_sees_the_dashboard(client, post, login, db, make_user):
    setup = open_letter(db, make_user)
    outsider = make_user(email="out@side.example", organisation="Outsiders")
    login(client, outsider)
    url = f"/letters/{setup.letter.slug}/signatories"
    assert client.get(url).status_code == 404  # the same answer as for a letter that does not exist
    assert client.get(url + "/export.csv").status_code == 404
    client.cookies.clear()
    assert client.get(url).status_code == 303  # to the log-in page


def test_states_counts_order_and_safe_csv(client, post, login, db, make_user, deliver, smtp):
    from backend.signatures.models import Signature

    setup = open_letter(db, make_user)
    vid = setup.letter.current_version_id
    rows = [("=HYPERLINK(\"http://evil\")", "approved"), ("Calm Org", "needs_reconfirmation"),
            ("+Plus Org", "pending"), ("Gone Org", "withdrawn")]
    for n, (name, status) in enumerate(rows):
        db.add(Signature(letter_id=setup.letter.id, version_id=vid, display_name=name, name_key=name.casefold(),
                         signer_name="S", contact_email=f"s{n}@x.example", email_key=f"s{n}@x.example",
                         status=status, display_order=10 - n))
    db.commit()
    invite_one(client, post, login, setup, "Quiet Org, q@quiet.example")
    url = f"/letters/{setup.letter.slug}/signatories"
    page = client.get(url)
    for state in ("approved", "needs_reconfirmation", "pending", "withdrawn", "invited"):
        assert f'data-state="{state}"' in page.text
    assert '<span class="count" data-state="invited">1</span>' in page.text
    filtered = client.get(url + "?state=pending")
    table = filtered.text.split("Invites and signatures")[1].split("Display order")[0]
    assert "+Plus Org" in table and "Calm Org" not in table

    calm = next(s for s in signatures(db) if s.display_name == "Calm Org")
    response = post(client, url + "/order", {f"order-{calm.id}": "-5"}, page=url)
    assert response.status_code == 303
    assert next(s for s in signatures(db) if s.id == calm.id).display_order == -5

    body = client.get(url + "/export.csv").text.lstrip("\ufeff")
    parsed = list(csv.reader(io.StringIO(body)))
    assert "contact_email" not in parsed[0]
    names = [r[2] for r in parsed[1:]]
    assert "'=HYPERLINK(\"http://evil\")" in names and "'+Plus Org" in names
    assert names[0] == "Calm Org"
    assert "@x.example" not in body
    with_emails = client.get(url + "/export.csv?emails=1").text
    assert "s1@x.example" in with_emails


def test_lead_opens_and_closes(client, post, login, db, make_user):
    setup = open_letter(db, make_user)
    login(client, setup.lead)
    url = f"/letters/{setup.letter.slug}/signatories"
    assert post(client, url + "/status", {"status": "closed"}, page=url).status_code == 303
    from backend.letters.models import Letter
    db.rollback()
    db.expire_all()
    assert db.get(Letter, setup.letter.id).status == "closed"
    assert post(client, url + "/status", {"status": "open"}, page=url).status_code == 303
    db.rollback()
    db.expire_all()
    assert db.get(Letter, setup.letter.id).status == "open"
    assert signatures(db) == []
