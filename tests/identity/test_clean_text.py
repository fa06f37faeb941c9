"""Clean text everywhere: hostile names through every form and the import never give a 500, never reach a page,
a document or an email with a control or invisible character, and the press pack always builds."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest
from sqlmodel import select

from backend import ratelimit, text
from tests.signatures.helpers import invite_one, link_in, open_letter, sign_data, signatures

HOSTILE = [
    "Bad\x01Name\x7f",                       # C0 and DEL controls
    "Evil\uffffTrust\ufffe",                 # noncharacters (python-docx refuses them)
    "Good \u202eecnarF\u202c Cause",          # a right-to-left override
    "Amnesty\u200b International",           # a zero-width space
    "\u0410mnesty International",            # Cyrillic A (a confusable: accepted, but see the look-alike tests)
    "\ufeffBOM\u2066isolated\u2069 Org",     # byte-order mark and bidi isolates
    "\uff26\uff55\uff4c\uff4c \uff23harity",  # full-width letters
    "Line\u2028Separator\x85Next",           # line separator and NEL
    "A" * 5000,                              # far too long
]


def _hidden(value: str) -> list[str]:
    return text.hidden_characters(value or "")


def test_clean_name_refuses_hidden_characters_and_folds_compatibility_forms() -> None:
    from backend.errors import InvalidInput

    assert text.clean_name("  \uff26\uff55\uff4c\uff4c  \uff57idth ") == "Full width"
    with pytest.raises(InvalidInput) as info:
        text.clean_name("Good \u202eecnarF Cause", label="The organisation's name")
    assert "U+202E" in info.value.message and "RIGHT-TO-LEFT OVERRIDE" in info.value.message
    assert text.clean_text("a\x01b\r\nc\u200bd\uffff\u200de") == "ab\ncd\u200de"
    assert text.clean_line("x\u202ey\tz") == "xy z"
    assert text.xml_safe("A\x01\ufffeB") == "AB"


@pytest.mark.parametrize("multiline", [True, False])
def test_plain_ascii_text_is_cleaned_as_the_general_rule_cleans_it(multiline: bool) -> None:
    """Text of ASCII characters only takes a shorter path (one pattern, no look at each character). For every
    ASCII character, alone and among others, it gives what the character-by-character path gives: the same text
    with one accented letter more, which takes that path, comes out the same but for that letter."""
    for code in range(128):
        for value in (chr(code), f"Friends{chr(code)}of the\r\nPark", chr(code) * 3):
            assert value.isascii()
            assert text.clean_text(value, multiline=multiline) + "é" == text.clean_text(value + "é",
                                                                                         multiline=multiline)
            assert text.hidden_characters(value, multiline=multiline) == text.hidden_characters(value + "é",
                                                                                                multiline=multiline)
    assert text.hidden_characters("a\x01b\x01\x7f") == ["\x01", "\x7f"]  # each once, in order


def test_hostile_names_through_the_signing_forms(client: Any, post: Any, login: Any, db: Any, make_user: Any,
                                                 deliver: Any, smtp: Any) -> None:
    setup = open_letter(db, make_user, open_signon_enabled=True, moderate_open_signons=False)
    version_id = setup.letter.current_version_id
    url = f"/letters/{setup.letter.slug}/sign"
    for n, name in enumerate(HOSTILE):
        for field in ("display_name", "signer_name", "signer_role", "city"):
            data = sign_data(version_id, contact_email=f"c{n}-{field}@corpus.example")
            data[field] = name
            ratelimit.reset()
            response = post(client, url, data, page=url)
            assert response.status_code in (303, 422), (name, field, response.status_code)
            if response.status_code == 422:
                assert "invisible or control" in response.text or "too long" in response.text \
                    or "already signed" in response.text, response.text
    for s in signatures(db):
        for value in (s.display_name, s.signer_name, s.signer_role, s.city or ""):
            assert not _hidden(value), value
            assert value == " ".join(value.split())

    # The invite form: a CSV with hostile organisation names.
    lines = "\n".join(f"{name[:190]}, inv{n}@corpus.example" for n, name in enumerate(HOSTILE))
    response = invite_one(client, post, login, setup, lines)
    assert response.status_code in (303, 422), response.status_code
    from backend.signatures.models import Invite

    db.rollback()
    for invite in db.exec(select(Invite)):
        assert not _hidden(invite.organisation_name), invite.organisation_name
    client.cookies.clear()

    # The management link of a confirmed signature.
    response = post(client, url, sign_data(version_id, display_name="Plain Org", contact_email="plain@corpus.example"),
                    page=url)
    assert response.status_code == 303
    deliver()
    confirm = link_in(smtp.wait_for(1, to="plain@corpus.example")[-1], "/confirm/")
    response = post(client, confirm, {"version_id": str(version_id)}, page=confirm)
    assert response.status_code in (200, 303)
    deliver()
    manage = link_in(smtp.wait_for(2, to="plain@corpus.example")[-1], "/manage/")
    for name in HOSTILE:
        ratelimit.reset()
        response = post(client, manage, {"display_name": name, "signer_name": name, "signer_role": name,
                                         "website": "", "city": name}, page=manage)
        assert response.status_code in (303, 422), (name, response.status_code)
    for s in signatures(db):
        assert not _hidden(s.display_name) and not _hidden(s.signer_name), s.display_name


def test_hostile_names_through_the_account_and_letter_forms(client: Any, post: Any, login: Any, db: Any,
                                                           make_user: Any) -> None:
    from backend.accounts.models import Organisation, User
    from backend.campaigns.models import Campaign
    from backend.letters.models import Letter, LetterVersion

    for n, name in enumerate(HOSTILE):
        ratelimit.reset()
        response = post(client, "/signup", {"name": name, "email": f"u{n}@corpus.example",
                                            "password": "correct horse battery", "organisation": name})
        assert response.status_code in (303, 422), (name, response.status_code)
        client.cookies.clear()
    user = make_user(email="writer@corpus.example", organisation="Corpus Org")
    login(client, user)
    for name in HOSTILE:
        response = post(client, "/account", {"name": name})
        assert response.status_code in (303, 422), (name, response.status_code)
        response = post(client, "/campaigns/new", {"title": name}, page="/campaigns/new")
        assert response.status_code in (303, 422), (name, response.status_code)
    campaign = db.exec(select(Campaign)).first()
    assert campaign is not None
    new = f"/campaigns/{campaign.slug}/letters/new"
    for name in HOSTILE:
        response = post(client, new, {"title": name, "salutation": "Dear " + name, "subject": name,
                                      "body": "Text " + name, "sign_off": "Yours", "quote-0-person": name,
                                      "quote-0-text": name}, page=new)
        assert response.status_code in (303, 422), (name, response.status_code)
    db.rollback()
    for model, attrs in ((User, ("name",)), (Organisation, ("name",)), (Campaign, ("title",)),
                         (Letter, ("title",)), (LetterVersion, ("salutation", "subject", "body"))):
        for row in db.exec(select(model)):
            for attr in attrs:
                assert not _hidden(getattr(row, attr), ), (model, getattr(row, attr)[:80])


def test_hostile_names_in_an_imported_letter_are_refused_with_their_line() -> None:
    from backend.letters import files

    for name in HOSTILE[:3]:
        source = (f"---\ntitle: \"{name.encode('unicode_escape').decode()}\"\nsalutation: Dear Minister,\n"
                  "subject: A subject\nsign_off: Yours sincerely,\n---\n\nThe body.\n")
        with pytest.raises(files.LetterFileError) as info:
            files.parse(source)
        assert info.value.line == 2 and "invisible or control" in str(info.value)


def test_nested_yaml_is_refused_with_a_clear_error() -> None:
    from backend.letters import files

    source = "---\ntitle: A\nsalutation: Dear Minister,\nsubject: S\nsign_off: Yours,\ntags: " + "[" * 5000 \
        + "]" * 5000 + "\n---\n\nBody.\n"
    with pytest.raises(files.LetterFileError) as info:
        files.parse(source)
    assert "nested" in str(info.value)


def test_a_control_character_in_an_approved_name_never_breaks_the_press_pack(db: Any, make_user: Any,
                                                                             client: Any, engine: Any) -> None:
    from docx import Document

    from backend.publishing import service
    from tests.publishing.helpers import build_documents, ready_letter

    ready = ready_letter(db, make_user)
    # Rows stored before the input rules (or written by hand): the documents must still build.
    ready.signatures[0].display_name = "Friends\x01 of the\uffff Park"
    ready.signatures[2].signer_role = "Chief\x0b Executive\u202e"
    db.add(ready.signatures[0])
    db.add(ready.signatures[2])
    ready.letter.notes_to_editors = "Notes\x02 here."
    db.add(ready.letter)
    db.commit()
    service.publish(session=db, letter=ready.letter, user=ready.lead, ip=None)
    db.commit()
    assert build_documents(engine) == 1  # the worker's job
    slug = ready.letter.slug
    for name in ("letter.pdf", "letter.docx", "press-release.pdf", "press-release.docx", "signatories.csv",
                 "README.txt"):
        response = client.get(f"/letters/{slug}/press/{name}")
        assert response.status_code == 200, name
    archive = zipfile.ZipFile(io.BytesIO(client.get(f"/letters/{slug}/press-pack.zip").content))
    docx = archive.read(f"{slug}-press-pack/letter.docx")
    assert "Friends of the Park" in "\n".join(p.text for p in Document(io.BytesIO(docx)).paragraphs)
    assert client.get(f"/letters/{slug}").status_code == 200
