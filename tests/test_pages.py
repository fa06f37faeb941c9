"""The home page, error pages and the development mailbox."""

from __future__ import annotations

from backend.mail import service as mail


def test_home_page_explains_the_tool_and_lists_no_letters_yet(client):
    response = client.get("/")
    assert response.status_code == 200
    assert "Open letters, signed together" in response.text
    assert "No letters have been published yet." in response.text
    assert 'href="#main"' in response.text  # skip link
    assert "<main" in response.text and 'role="banner"' in response.text


def test_unknown_page_is_a_clear_404_page(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "Page not found" in response.text
    assert response.headers["content-type"].startswith("text/html")


def test_api_errors_are_json(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.json() == {
        "detail": "There is nothing at this address. It may have moved, or it is not public yet."
    }


def test_wrong_method_is_405_with_a_reason(client):
    response = client.put("/", headers={"x-csrf-token": "x"})
    assert response.status_code in (403, 405)


def test_dev_mailbox_shows_messages_and_their_links(settings, engine, db, smtp):
    from fastapi.testclient import TestClient

    from backend.main import create_app

    mail.enqueue(session=db, to="reader@example.org", template="test_message",
                 context={"name": "Reader <b>", "link": "http://testserver/verify/abc"})
    db.commit()
    development = settings.model_copy(update={"environment": "development"})
    with TestClient(create_app(development, engine=engine, run_worker=False)) as client:
        _read_mailbox(client, db)


def _read_mailbox(client, db):
    listing = client.get("/dev/mailbox")
    assert listing.status_code == 200
    # Every row names its recipient, and the table stacks into labelled cards on a phone (site.css).
    assert '<table class="table stack mailbox">' in listing.text
    assert listing.text.count('class="mail-to">') == len(mail.get_recent(session=db)) >= 1
    assert "A test message for Reader &lt;b&gt;" in listing.text
    email = mail.get_recent(session=db)[0]
    message = client.get(f"/dev/mailbox/{email.id}")
    assert message.status_code == 200
    assert '<a href="http://testserver/verify/abc"' in message.text
    html_part = client.get(f"/dev/mailbox/{email.id}/html")
    assert "sandbox" in html_part.headers["content-security-policy"]
    assert client.get("/dev/mailbox/999999").status_code == 404


def test_dev_mailbox_does_not_exist_in_production(settings, engine):
    from fastapi.testclient import TestClient

    from backend.main import create_app

    prod = settings.model_copy(update={"environment": "production", "secret_key": "x" * 48})
    with TestClient(create_app(prod, engine=engine, run_worker=False)) as c:
        assert c.get("/dev/mailbox").status_code == 404
        assert "max-age" in c.get("/").headers.get("strict-transport-security", "")
