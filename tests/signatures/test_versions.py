"""A new text after signing: reconfirmation with a diff, approve or withdraw; the management link."""

from __future__ import annotations

from tests.signatures.helpers import audit_actions, link_in, open_letter, outbox, sign_data, signatures


def _signed(client, post, db, make_user, deliver, smtp, **settings):
    setup = open_letter(db, make_user, open_signon_enabled=True, moderate_open_signons=False, **settings)
    url = f"/letters/{setup.letter.slug}/sign"
    assert post(client, url, sign_data(setup.letter.current_version_id)).status_code == 303
    deliver()
    link = link_in(smtp.wait_for(1)[0], "/confirm/")
    response = post(client, link, {"version_id": str(setup.letter.current_version_id)}, page=link)
    assert response.status_code == 303
    deliver()
    smtp.wait_for(2)
    return setup, response.headers["location"]


def _new_text(db, setup, body):
    from backend.config import get_settings
    from backend.letters import service as letters
    from backend.letters.models import Letter
    from backend.letters.service import LetterText
    from backend.signatures import confirming

    db.rollback()
    letter = db.get(Letter, setup.letter.id)
    db.refresh(letter)
    version = letters.save_version(session=db, letter=letter, author_id=setup.lead.id, check_base=False,
                                   text=LetterText(salutation="Dear Home Secretary,", subject="The right to protest",
                                                   body=body, sign_off="Yours sincerely,"))
    count = confirming.on_new_version(session=db, settings=get_settings(), letter=letter, version=version)
    db.commit()
    return version, count


def test_new_text_asks_for_reconfirmation_and_approve(client, post, db, make_user, deliver, smtp):
    setup, _manage = _signed(client, post, db, make_user, deliver, smtp)
    version, count = _new_text(db, setup, "We write to ask you to defend the right to protest.\n\nIt matters.")
    assert count == 1
    [signature] = signatures(db)
    assert signature.status == "needs_reconfirmation"
    deliver()
    mail = smtp.wait_for(3)[-1]
    assert "has changed" in mail.subject
    assert "[-protect-]" in mail.text and "{+defend+}" in mail.text
    approve = link_in(mail, "/confirm/")
    assert "/withdraw" not in approve

    before = signatures(db)[0].updated_at
    page = client.get(approve)
    assert page.status_code == 200 and '[added: </span>defend<' in page.text
    assert signatures(db)[0].updated_at == before  # the GET changed nothing

    response = post(client, approve, {"version_id": str(version.id)}, page=approve)
    assert response.status_code == 303
    [signature] = signatures(db)
    assert signature.status == "approved" and signature.version_id == version.id
    assert signature.content_hash == version.content_hash
    deliver()
    receipt = smtp.wait_for(4)[-1]
    assert version.content_hash in receipt.text and "version 2" in receipt.text
    assert "signature_reconfirmed" in audit_actions(db)

    from backend.signatures import listing
    assert [s.id for s in listing.get_listed(session=db, letter=db.get(type(setup.letter), setup.letter.id))] == [
        signature.id]


def test_withdraw_through_the_diff_email(client, post, db, make_user, deliver, smtp):
    setup, _manage = _signed(client, post, db, make_user, deliver, smtp)
    _new_text(db, setup, "Entirely new words.")
    deliver()
    mail = smtp.wait_for(3)[-1]
    withdraw = next(link for link in mail.links() if link.endswith("/withdraw")).removeprefix("http://testserver")
    assert client.get(withdraw).status_code == 200
    assert signatures(db)[0].status == "needs_reconfirmation"
    response = post(client, withdraw, {}, page=withdraw)
    assert response.status_code == 200 and "withdrawn" in response.text
    assert signatures(db)[0].status == "withdrawn"
    assert "signature_withdrawn" in audit_actions(db)


def test_same_text_again_needs_nothing(client, post, db, make_user, deliver, smtp):
    setup, _manage = _signed(client, post, db, make_user, deliver, smtp)
    _new_text(db, setup, "Something else.")
    body = "We write to ask you to protect the right to protest.\n\nIt matters to everyone."
    _version, count = _new_text(db, setup, body)
    assert count == 0 or signatures(db)[0].content_hash != _version.content_hash


def test_manage_link_corrects_listing_and_withdraws(client, post, db, make_user, deliver, smtp):
    _setup, manage = _signed(client, post, db, make_user, deliver, smtp)
    assert manage.startswith("/manage/")
    page = client.get(manage)
    assert page.status_code == 200 and "Friends of the Park" in page.text
    response = post(client, manage, {"display_name": "Friends of the Park (Leeds)", "signer_name": "Sam Signer",
                                     "signer_role": "Chair", "website": "friends.example"}, page=manage)
    assert response.status_code == 303, response.text
    [signature] = signatures(db)
    # An invited organisation's role changes at once; its new name waits for the lead (tests/identity).
    assert signature.display_name == "Friends of the Park" and signature.signer_role == "Chair"
    assert signature.website == "https://friends.example"
    assert "Friends of the Park (Leeds)" in client.get(manage).text

    response = post(client, manage, {"display_name": "see www.spam.example", "signer_name": "Sam"}, page=manage)
    assert response.status_code == 422 and 'value="see www.spam.example"' in response.text

    response = post(client, manage + "/withdraw", {}, page=manage)
    assert response.status_code == 200
    assert signatures(db)[0].status == "withdrawn"
    assert "signature_listing_changed" in audit_actions(db)


def test_after_publication_only_the_lead_can_withdraw(client, post, login, db, make_user, deliver, smtp):
    from backend.letters.models import Letter

    setup, manage = _signed(client, post, db, make_user, deliver, smtp)
    letter = db.get(Letter, setup.letter.id)
    letter.status = "published"
    db.add(letter)
    db.commit()
    assert "contact the coalition" in client.get(manage).text
    response = post(client, manage + "/withdraw", {}, page="/login")
    assert response.status_code == 403 and "contact the coalition" in response.text
    assert signatures(db)[0].status == "approved"

    login(client, setup.lead)
    dashboard = f"/letters/{setup.letter.slug}/signatories"
    sig_id = signatures(db)[0].id
    response = post(client, f"{dashboard}/{sig_id}/withdraw", {"reason": "Asked by phone on 3 March"}, page=dashboard)
    assert response.status_code == 303
    assert signatures(db)[0].status == "withdrawn"
    assert "signature_withdrawn" in audit_actions(db)
    assert len(outbox(db)) >= 2
