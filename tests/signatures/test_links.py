"""Reading an emailed link (confirm, reconfirm, manage): what the page and the POST behind it ask the database."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import Session

from tests.conftest import csrf_from
from tests.signatures.helpers import a_signature, open_letter, shared_renders
from tests.statements import statements


def _pending(db: Any, make_user: Any) -> tuple[Any, Any, str]:
    from backend.signatures import tokens

    setup = open_letter(db, make_user, open_signon_enabled=True)
    signature = a_signature(db, setup.letter, name="Friends of the Park", email="sam@friends.example",
                            status="pending")
    token = tokens.issue_token(session=db, signature_id=signature.id, purpose="confirm", days=7)
    db.commit()
    return setup, signature, token


def test_a_link_is_read_with_its_letter_and_text_in_one_statement(db, engine, make_user):
    """Every reader of a link reads the letter next, and a confirmation its current text: one statement brings
    all four."""
    from backend.signatures import tokens

    setup, signature, token = _pending(db, make_user)
    with Session(engine) as session, statements(engine) as sent:
        link = tokens.get_by_token(session=session, token=token, purposes=("confirm",))
    assert (link.token.purpose, link.signature.id, link.letter.id) == ("confirm", signature.id, setup.letter.id)
    assert link.version is not None and link.version.id == setup.letter.current_version_id
    assert len(sent) == 1, sent


@pytest.mark.parametrize("purposes", [("manage",), ("reconfirm",)])
def test_a_link_for_another_purpose_is_refused(db, make_user, purposes):
    from backend.errors import TokenInvalid
    from backend.signatures import tokens

    _setup, _signature, token = _pending(db, make_user)
    with pytest.raises(TokenInvalid, match="not valid"):
        tokens.get_by_token(session=db, token=token, purposes=purposes)


def test_a_confirmation_asks_nothing_it_already_holds(client, db, engine, make_user):
    """The POST behind a confirmation link: no second read of the letter, its text or the outbox."""
    from backend.signatures.models import Signature

    setup, _signature, token = _pending(db, make_user)
    page = f"/confirm/{token}"
    shown = client.get(page)
    assert shown.status_code == 200 and "Friends of the Park" in shown.text
    with statements(engine) as sent:
        response = client.post(page, data={"csrf_token": csrf_from(shown.text),
                                           "version_id": str(setup.letter.current_version_id)})
    assert response.status_code == 303
    reads = [s for s in sent if s.upper().startswith("SELECT")]
    assert not any(" FROM letter " in s + " " and "signature_token" not in s for s in reads), reads
    assert not any("FROM letter_version" in s and "signature_token" not in s for s in reads), reads
    assert not any("FROM outbound_email" in s for s in reads), reads
    assert sum("FROM signature_token" in s for s in reads) == 1, reads  # the link, read once
    db.rollback()
    signature = db.get(Signature, _signature.id)
    db.refresh(signature)
    # Bound to the text shown; an open sign-on waits for the lead's check (the letter moderates them).
    assert signature.status == "confirmed" and signature.version_id == setup.letter.current_version_id
    assert signature.confirmed_at is not None and signature.approved_at is None and signature.content_hash



def test_a_confirmation_page_is_rendered_once_for_every_signer_of_the_same_kind(client, db, make_user, monkeypatch):
    """The page behind a confirmation link is the same for every signer of a letter but for their names, their
    link and their CSRF token: it is rendered once (per kind of signer) and each answer carries the signer's own,
    escaped as the template would. Each signer's POST then works with their own token."""
    from markupsafe import escape

    from backend.signatures import tokens
    from backend.signatures.models import Signature

    renders = shared_renders(monkeypatch)
    setup = open_letter(db, make_user, open_signon_enabled=True)
    signers = [("Friends of the Park", "Sam Signer", "Director"), ("Parks & <Gardens>", "Ann \"Q\" Other", "Chair"),
               ("Third Trust", "Tom Third", None)]
    links = []
    for n, (name, signer, role) in enumerate(signers):
        signature = a_signature(db, setup.letter, name=name, email=f"s{n}@example.org", status="pending",
                                signer_name=signer, signer_role=role)
        links.append((signature.id, tokens.issue_token(session=db, signature_id=signature.id, purpose="confirm",
                                                       days=7)))
    db.commit()
    for (name, signer, role), (signature_id, token) in zip(signers, links, strict=True):
        client.cookies.clear()
        page = client.get(f"/confirm/{token}")
        assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
        assert "stand-in" not in page.text
        assert f'action="/confirm/{token}"' in page.text
        assert not [other for _, other in links if other != token and other in page.text]  # nobody else's link
        said = f"{escape(signer)}, {escape(role)}" if role else escape(signer)
        assert f"<strong>{escape(name)}</strong> ({said})." in page.text, page.text
        response = client.post(f"/confirm/{token}", data={"csrf_token": csrf_from(page.text),
                                                          "version_id": str(setup.letter.current_version_id)})
        assert response.status_code == 303, response.text
        db.rollback()
        assert db.get(Signature, signature_id).status == "confirmed"
    # One render for those with a role, one for the one without; each confirmation changed the public revision.
    assert renders == ["signatures/confirm.html"] * 2
