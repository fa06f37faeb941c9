"""A permanent rejection marks the address undeliverable where the person who can fix it looks."""

from __future__ import annotations

from backend.mail import service
from tests.conftest import csrf_from
from tests.signatures.helpers import open_letter, sign_data


def test_a_refused_signatory_address_shows_on_the_signatories_dashboard(client, db, make_user, login, smtp,
                                                                       deliver):
    setup = open_letter(db, make_user, open_signon_enabled=True)
    url = f"/letters/{setup.letter.slug}/sign"
    response = client.post(url, data={"csrf_token": csrf_from(client.get(url).text),
                                      **sign_data(setup.letter.current_version_id)}, files={"logo": ("", b"", "")})
    assert response.status_code == 303
    smtp.reject = (550, "5.1.1 No such mailbox")
    deliver()
    smtp.reject = None
    client.cookies.clear()
    login(client, setup.lead)
    page = client.get(f"/letters/{setup.letter.slug}/signatories").text
    assert "mail to this address was refused: 550 5.1.1 No such mailbox" in page


def test_a_refused_account_address_shows_on_the_account_page(client, db, make_user, login, smtp, deliver):
    user = make_user(email="gone@example.org")
    service.enqueue(session=db, to=user.email, template="test_message", context={"name": "G", "link": "x"})
    db.commit()
    smtp.reject = (550, "5.1.1 No such mailbox")
    deliver()
    smtp.reject = None
    login(client, user)
    page = client.get("/account").text
    assert "is refused by its mail server" in page and "550 5.1.1 No such mailbox" in page
    # Once a message goes through, the warning goes.
    service.enqueue(session=db, to=user.email, template="test_message", context={"name": "G", "link": "y"})
    db.commit()
    deliver()
    assert "is refused by its mail server" not in client.get("/account").text


def test_a_refused_journalist_address_shows_beside_its_press_link(app, client, db, make_user, login, smtp, deliver):
    from datetime import timedelta

    from backend.publishing import service as publishing
    from tests.day.helpers import sent_letter

    ready = sent_letter(db, make_user, embargo_in=timedelta(days=2))
    publishing.create_press_link(session=db, settings=app.state.settings, letter=ready.letter,
                                 journalist="Jo Journalist", outlet="The Daily", email="jo@daily.example",
                                 user=ready.lead, ip=None)
    db.commit()
    smtp.reject = (550, "5.1.1 No such mailbox")
    deliver()
    smtp.reject = None
    login(client, ready.lead)
    page = client.get(f"/letters/{ready.letter.slug}/publish").text
    assert "mail to this address was refused: 550 5.1.1 No such mailbox" in page
