"""Signing through an invite or the open link, confirming by emailed link, and every kind of bad input."""

from __future__ import annotations

import io
from datetime import timedelta

from PIL import Image

from tests.conftest import csrf_from
from tests.signatures.helpers import (
    audit_actions,
    invite_one,
    invites,
    link_in,
    open_letter,
    outbox,
    sign_data,
    signatures,
)


def _png(size: tuple[int, int] = (40, 20)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


def _invited(client, post, login, db, make_user, deliver, smtp, **settings):
    setup = open_letter(db, make_user, **settings)
    response = invite_one(client, post, login, setup, "Friends of the Park, sam@friends.example")
    assert response.status_code == 303, response.text
    deliver()
    mail = smtp.wait_for(1, to="sam@friends.example")[0]
    assert mail.subject == "An invitation to sign an open letter, from “Lead Charity”"
    assert "Friends of the Park" in mail.text
    client.cookies.clear()
    return setup, link_in(mail, "/sign/")


def test_invite_sign_confirm_receipt(client, post, login, db, make_user, deliver, smtp):
    setup, sign_link = _invited(client, post, login, db, make_user, deliver, smtp)
    page = client.get(sign_link)
    assert page.status_code == 200
    assert "We write to ask you to protect the right to protest." in page.text
    assert invites(db)[0].status == "opened"

    response = post(client, sign_link, sign_data(setup.letter.current_version_id), page=sign_link)
    assert response.status_code == 303, response.text
    [signature] = signatures(db)
    assert signature.status == "pending" and signature.via == "invite"
    deliver()
    confirm_mail = smtp.wait_for(1, to="sam@friends.example")[-1]
    assert "Confirm your signature" in confirm_mail.subject
    confirm_link = link_in(confirm_mail, "/confirm/")

    # A GET (a mail scanner, say) changes nothing.
    before_sig, before_audit, before_mail = signatures(db), audit_actions(db), len(outbox(db))
    page = client.get(confirm_link)
    assert page.status_code == 200 and "Confirm our signature" in page.text
    after = signatures(db)
    assert [(s.status, s.confirmed_at, s.updated_at) for s in after] == [
        (s.status, s.confirmed_at, s.updated_at) for s in before_sig]
    assert audit_actions(db) == before_audit and len(outbox(db)) == before_mail
    from backend.signatures.models import SignatureToken
    assert all(t.used_at is None for t in db.exec(__import__("sqlmodel").select(SignatureToken)))

    response = post(client, confirm_link, {"version_id": str(setup.letter.current_version_id)}, page=confirm_link)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/manage/")
    [signature] = signatures(db)
    assert signature.status == "approved" and signature.version_id == setup.letter.current_version_id
    from backend.letters.models import LetterVersion
    version = db.get(LetterVersion, signature.version_id)
    assert signature.content_hash == version.content_hash
    deliver()
    receipt = smtp.wait_for(3, to="sam@friends.example")[-1]
    assert "Receipt" in receipt.subject
    assert version.content_hash in receipt.text and f"version {version.number}" in receipt.text
    assert "signature_submitted" in audit_actions(db) and "signature_confirmed" in audit_actions(db)

    # The link works once.
    page = client.get(confirm_link)
    assert page.status_code == 400 and "already been used" in page.text
    # The invite link is spent too.
    page = client.get(sign_link)
    assert page.status_code == 400 and "already been answered" in page.text


def test_forged_expired_and_revoked_links(client, post, login, db, make_user, deliver, smtp):
    setup, sign_link = _invited(client, post, login, db, make_user, deliver, smtp)
    assert "not valid" in client.get("/sign/forged-token-value").text
    assert client.get("/confirm/forged-token-value").status_code == 400
    assert client.get("/manage/forged-token-value").status_code == 400

    [invite] = invites(db)
    invite.expires_at = invite.expires_at - timedelta(days=365)
    db.add(invite)
    db.commit()
    page = client.get(sign_link)
    assert page.status_code == 400 and "expired" in page.text
    response = client.post(sign_link, data={"csrf_token": csrf_from(client.get("/login").text),
                                            **sign_data(setup.letter.current_version_id)})
    assert response.status_code == 400 and "expired" in response.text
    assert signatures(db) == []

    invite.expires_at = invite.expires_at + timedelta(days=400)
    invite.status = "revoked"
    db.add(invite)
    db.commit()
    page = client.get(sign_link)
    assert page.status_code == 400 and "withdrawn by the coalition" in page.text
    assert signatures(db) == []


def test_expired_confirmation_link(client, post, db, make_user, deliver, smtp):
    setup = open_letter(db, make_user, open_signon_enabled=True)
    url = f"/letters/{setup.letter.slug}/sign"
    assert post(client, url, sign_data(setup.letter.current_version_id)).status_code == 303
    deliver()
    link = link_in(smtp.wait_for(1)[0], "/confirm/")
    from sqlmodel import select

    from backend.signatures.models import SignatureToken
    db.expire_all()
    for token in db.exec(select(SignatureToken)):
        token.expires_at = token.expires_at - timedelta(days=30)
        db.add(token)
    db.commit()
    response = client.post(link, data={"csrf_token": csrf_from(client.get(url).text),
                                       "version_id": str(setup.letter.current_version_id)})
    assert response.status_code == 400 and "expired" in response.text
    assert signatures(db)[0].status == "pending"


def test_bad_input_is_refused_and_nothing_is_stored(client, post, db, make_user, smtp, settings):
    from pathlib import Path

    setup = open_letter(db, make_user, open_signon_enabled=True)
    url = f"/letters/{setup.letter.slug}/sign"
    vid = setup.letter.current_version_id

    response = post(client, url, sign_data(vid, attested=None))
    assert response.status_code == 422
    assert "authorised to sign" in response.text
    assert 'value="Friends of the Park"' in response.text  # typed text kept

    response = post(client, url, sign_data(vid, display_name="Buy pills at https://spam.example"))
    assert response.status_code == 422 and "Web addresses are not allowed" in response.text

    exe = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 500
    response = post(client, url, sign_data(vid), files={"logo": ("logo.png", exe, "image/png")})
    assert response.status_code == 422 and "not a PNG or JPEG" in response.text

    svg = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    response = post(client, url, sign_data(vid), files={"logo": ("logo.svg", svg, "image/svg+xml")})
    assert response.status_code == 422 and "SVG logos are not accepted" in response.text

    big = b"\x89PNG\r\n\x1a\n" + b"\x00" * (2 * 1024 * 1024 + 100_000)  # within the form's body limit
    response = post(client, url, sign_data(vid), files={"logo": ("big.png", big, "image/png")})
    assert response.status_code == 422 and "larger than 2 MB" in response.text
    huge = b"\x89PNG\r\n\x1a\n" + b"\x00" * (20 * 1024 * 1024)  # over it: refused before it is read (413)
    response = post(client, url, sign_data(vid), files={"logo": ("big.png", huge, "image/png")})
    assert response.status_code == 413 and "3 MB at most" in response.text

    response = post(client, url, sign_data(vid, contact_email="not-an-email"))
    assert response.status_code == 422

    assert signatures(db) == [] and outbox(db) == []
    logos_dir = Path(settings.media_dir) / "logos"
    assert not logos_dir.exists() or not any(logos_dir.iterdir())

    # A real logo is re-encoded as PNG and stored.
    jpeg = io.BytesIO()
    Image.new("RGB", (30, 30), (0, 90, 200)).save(jpeg, format="JPEG")
    response = post(client, url, sign_data(vid), files={"logo": ("logo.jpg", jpeg.getvalue(), "image/jpeg")})
    assert response.status_code == 303, response.text
    [signature] = signatures(db)
    stored = Path(settings.media_dir) / signature.logo_path
    assert stored.read_bytes().startswith(b"\x89PNG")
    served = client.get(f"/signatures/{signature.logo_path}")
    assert served.status_code == 200 and served.headers["content-type"] == "image/png"

    # The same organisation again (other case and spacing, another email): a clear message, nothing stored.
    response = post(client, url, sign_data(vid, display_name="  friends OF the   park ",
                                           contact_email="other@friends.example"))
    assert response.status_code == 422 and "one signature per organisation" in response.text
    response = post(client, url, sign_data(vid, display_name="Another Group"))
    assert response.status_code == 422 and "one signature per contact email" in response.text
    assert len(signatures(db)) == 1 and len(outbox(db, "signature_confirm")) == 1


def test_text_changed_while_reading(client, post, db, make_user, smtp):
    setup = open_letter(db, make_user, open_signon_enabled=True)
    url = f"/letters/{setup.letter.slug}/sign"
    response = post(client, url, sign_data(setup.letter.current_version_id + 999))
    assert response.status_code == 422 and "changed while you were reading" in response.text
    assert signatures(db) == []


def test_open_signon_waits_for_moderation(client, post, login, db, make_user, deliver, smtp):
    setup = open_letter(db, make_user, open_signon_enabled=True, moderate_open_signons=True)
    url = f"/letters/{setup.letter.slug}/sign"
    assert client.get(url).status_code == 200
    assert post(client, url, sign_data(setup.letter.current_version_id)).status_code == 303
    deliver()
    link = link_in(smtp.wait_for(1)[0], "/confirm/")
    assert post(client, link, {"version_id": str(setup.letter.current_version_id)}, page=link).status_code == 303
    [signature] = signatures(db)
    assert signature.status == "confirmed" and signature.approved_at is None

    login(client, setup.lead)
    dashboard = f"/letters/{setup.letter.slug}/signatories"
    page = client.get(dashboard)
    assert "Waiting for moderation" in page.text and "Friends of the Park" in page.text
    response = post(client, f"{dashboard}/{signature.id}/approve", {}, page=dashboard)
    assert response.status_code == 303
    assert signatures(db)[0].status == "approved"
    assert "signature_approved" in audit_actions(db)


def test_open_link_is_off_unless_switched_on(client, db, make_user):
    setup = open_letter(db, make_user)
    assert client.get(f"/letters/{setup.letter.slug}/sign").status_code == 404


def test_decline_with_reason(client, post, login, db, make_user, deliver, smtp):
    _setup, sign_link = _invited(client, post, login, db, make_user, deliver, smtp)
    response = post(client, sign_link + "/decline", {"reason": "Our board has not met."}, page=sign_link)
    assert response.status_code == 200 and "declined" in response.text
    [signature] = signatures(db)
    assert signature.status == "declined" and signature.decline_reason == "Our board has not met."
    assert client.get(sign_link).status_code == 400
    assert "invite_declined" in audit_actions(db)


def test_individuals_when_allowed(client, post, db, make_user, smtp):
    setup = open_letter(db, make_user, open_signon_enabled=True, allow_individuals=True, moderate_open_signons=False)
    url = f"/letters/{setup.letter.slug}/sign"
    response = post(client, url, sign_data(setup.letter.current_version_id, kind="individual", display_name="",
                                           signer_name="Ada Person", signer_role="Nurse, Leeds"))
    assert response.status_code == 303, response.text
    [signature] = signatures(db)
    assert signature.kind == "individual" and signature.display_name == "Ada Person"
