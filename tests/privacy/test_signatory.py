"""A signatory's own data from their management link: shown, downloaded as JSON, erased."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from typing import Any

from sqlmodel import select

from backend.config import get_settings
from tests.privacy.helpers import manage_token, tables_holding
from tests.publishing.helpers import build_documents, ready_letter
from tests.signatures.helpers import link_in, open_letter, sign_data


def test_the_export_names_every_column_held_about_a_signatory() -> None:
    """A column added to these models without being added to the export fails here."""
    from backend.mail.models import OutboundEmail
    from backend.privacy import service
    from backend.signatures.models import Invite, ListingChange, Signature, SignatureToken

    for model, fields in ((Signature, service.SIGNATURE_FIELDS), (Invite, service.INVITE_FIELDS),
                          (ListingChange, service.LISTING_CHANGE_FIELDS),
                          (SignatureToken, service.TOKEN_FIELDS), (OutboundEmail, service.OUTBOX_FIELDS)):
        columns = set(model.__table__.columns.keys())  # type: ignore[attr-defined]
        assert set(fields) == columns, f"{model.__name__}: not exported {columns - set(fields)}"


def test_signatory_sees_and_downloads_what_is_held(client: Any, post: Any, db: Any, make_user: Any,
                                                  deliver: Any, smtp: Any) -> None:
    from backend.privacy import service
    from backend.signatures.models import Signature

    setup = open_letter(db, make_user, open_signon_enabled=True)
    sign_link = f"/letters/{setup.letter.slug}/sign"
    r = post(client, sign_link, sign_data(setup.letter.current_version_id), page=sign_link)
    assert r.status_code == 303, r.text
    deliver()
    confirm = link_in(smtp.wait_for(1, to="sam@friends.example")[-1], "/confirm/")
    r = post(client, confirm, {"version_id": str(setup.letter.current_version_id)}, page=confirm)
    manage = r.headers["location"]
    page = client.get(manage)
    assert "/data" in page.text
    data_page = client.get(manage + "/data")
    assert data_page.status_code == 200
    signature = db.exec(select(Signature)).one()
    for shown in ("Friends of the Park", "Sam Signer", "Director", "sam@friends.example", signature.content_hash,
                  "the open sign-on link", "signature confirmed", "/privacy"):
        assert shown in data_page.text, shown
    download = client.get(manage + "/data.json")
    assert download.status_code == 200 and "attachment" in download.headers["content-disposition"]
    exported = json.loads(download.text)
    assert set(exported["signature"]) == set(Signature.__table__.columns.keys())  # type: ignore[attr-defined]
    assert exported["signature"]["contact_email"] == "sam@friends.example"
    assert exported["version_approved"]["content_hash"] == signature.content_hash
    assert {t["purpose"] for t in exported["links"]} >= {"confirm", "manage"}
    assert any(e["action"] == "signature_confirmed" for e in exported["audit_events"])
    assert {e["template"] for e in exported["emails"]} >= {"signature_confirm"}
    assert set(exported["field_meanings"]["signature"]) == set(service.SIGNATURE_FIELDS)
    assert client.get("/manage/not-a-token/data").status_code == 400


def test_erasure_before_publication_leaves_no_copy(client: Any, post: Any, db: Any, make_user: Any, engine: Any,
                                                   deliver: Any, smtp: Any) -> None:
    from backend.audit import service as audit

    setup = open_letter(db, make_user, open_signon_enabled=True)
    sign_link = f"/letters/{setup.letter.slug}/sign"
    post(client, sign_link, sign_data(setup.letter.current_version_id), page=sign_link)
    deliver()
    confirm = link_in(smtp.wait_for(1, to="sam@friends.example")[-1], "/confirm/")
    manage = post(client, confirm, {"version_id": str(setup.letter.current_version_id)},
                  page=confirm).headers["location"]
    assert tables_holding(engine, "sam@friends.example", "Sam Signer")  # the scan finds them before
    r = post(client, manage + "/erase", {}, page=manage + "/data")
    assert r.status_code == 422 and "Tick the box" in r.text
    r = post(client, manage + "/erase", {"confirm": "yes"}, page=manage + "/data")
    assert r.status_code == 200 and "Your data is erased" in r.text
    assert tables_holding(engine, "sam@friends.example", "Sam Signer") == []
    assert audit.verify_chain(session=db)
    assert client.get(manage).status_code == 400  # the link no longer works


def _published(db: Any, make_user: Any) -> Any:
    from backend.publishing import service as publishing

    ready = ready_letter(db, make_user)
    publishing.publish(session=db, letter=ready.letter, user=ready.lead, ip=None)
    db.commit()
    return ready


def test_erasing_a_published_individual(client: Any, post: Any, db: Any, make_user: Any, engine: Any,
                                        deliver: Any) -> None:
    from pypdf import PdfReader

    from backend.audit import service as audit

    ready = _published(db, make_user)
    slug = ready.letter.slug
    ivy = ready.signatures[3]
    deliver()  # the publication emails, one naming Ivy
    before = client.get(f"/letters/{slug}")
    assert "Ivy Individual" in before.text
    build_documents(engine)  # the worker's job
    assert client.get(f"/letters/{slug}/press-pack.zip").status_code == 200  # a pack built with her name
    token = manage_token(db, ivy)
    r = post(client, f"/manage/{token}/erase", {"confirm": "yes"}, page=f"/manage/{token}/data")
    assert r.status_code == 200, r.text
    assert tables_holding(engine, "Ivy Individual", "signer3@sig.example") == []
    build_documents(engine)  # the worker builds the pack again, without her
    page = client.get(f"/letters/{slug}")
    assert "Ivy Individual" not in page.text and "1 name removed" in page.text
    assert "Friends of the Park" in page.text
    for path in (f"/api/v1/letters/{slug}/signatories", f"/api/v1/letters/{slug}",
                 f"/letters/{slug}/press/signatories.csv"):
        assert "Ivy Individual" not in client.get(path).text, path
    archive = zipfile.ZipFile(io.BytesIO(client.get(f"/letters/{slug}/press-pack.zip").content))
    for name in archive.namelist():
        data = archive.read(name)
        text = data.decode("utf-8", "replace")
        if name.endswith(".pdf"):
            text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
        elif name.endswith(".docx"):
            inner = zipfile.ZipFile(io.BytesIO(data))
            text = "".join(inner.read(n).decode("utf-8", "replace") for n in inner.namelist())
        assert "Ivy Individual" not in text, name
    rows = list(csv.reader(io.StringIO(client.get(f"/letters/{slug}/press/signatories.csv").text)))
    assert len(rows) == 4  # the header and three organisations
    assert audit.verify_chain(session=db)


def test_erasing_a_published_organisations_signer_keeps_the_listing(client: Any, post: Any, db: Any,
                                                                   make_user: Any, engine: Any) -> None:
    from backend.signatures.models import Signature

    ready = _published(db, make_user)
    friends = ready.signatures[0]
    token = manage_token(db, friends)
    data_page = client.get(f"/manage/{token}/data")
    assert "listing stays" in data_page.text
    r = post(client, f"/manage/{token}/erase", {"confirm": "yes"}, page=f"/manage/{token}/data")
    assert r.status_code == 200 and "listing stays" in r.text
    assert tables_holding(engine, "Sam Signer", "signer0@sig.example") == []
    db.expire_all()
    kept = db.get(Signature, friends.id)
    assert kept.display_name == "Friends of the Park" and kept.status == "approved"
    assert (kept.signer_name, kept.signer_role, kept.contact_email) == ("", "", "")
    page = client.get(f"/letters/{ready.letter.slug}")
    assert "Friends of the Park" in page.text and "removed at" not in page.text


def test_erasure_drops_the_letter_pdf_kept_with_mail_already_sent(db: Any, make_user: Any, engine: Any,
                                                                  deliver: Any, smtp: Any, settings: Any) -> None:
    """The letter PDF emailed to a recipient lists the signatories: the outbox's copy of it goes on erasure."""
    from sqlmodel import select

    from backend.letters.models import LetterRecipient, Recipient
    from backend.mail.models import OutboundAttachment
    from backend.privacy import service as privacy
    from backend.responses import dispatch

    ready = _published(db, make_user)
    link = db.exec(select(LetterRecipient).where(LetterRecipient.letter_id == ready.letter.id)).one()
    recipient = db.get(Recipient, link.recipient_id)
    recipient.email = "private.office@homeoffice.example"
    db.add(recipient)
    pdf = dispatch.sending_pdf(session=db, settings=settings, letter=ready.letter)
    dispatch.send(settings=get_settings(), session=db, letter=ready.letter, user=ready.lead, pdf=pdf,
                   choices=[dispatch.SendChoice(link.id, "email")])
    db.commit()
    deliver()
    assert smtp.wait_for(1, to="private.office@homeoffice.example")[0].attachments()
    assert db.exec(select(OutboundAttachment)).all()
    privacy.erase_signature(session=db, settings=settings, signature=ready.signatures[3], actor="test",
                            reason="test")
    db.commit()
    assert db.exec(select(OutboundAttachment)).all() == []
    assert tables_holding(engine, "Ivy Individual", "signer3@sig.example") == []
