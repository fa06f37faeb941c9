"""Letters as files: parse errors name the field and line; the canonical form round-trips; the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from backend import PROJECT_ROOT
from backend.cli import main as cli
from backend.letters import files, service

MINIMAL = """---
title: A short letter
slug: a-short-letter
lead_organisation: Test Organisation
recipients:
  - name: The Minister
    reply_target_days: 20
salutation: Dear Minister,
subject: A subject
sign_off: Yours sincerely,
---

The body.
"""


def error_for(text: str) -> files.LetterFileError:
    with pytest.raises(files.LetterFileError) as info:
        files.parse(text)
    return info.value


def test_the_minimal_file_parses_and_is_canonical():
    parsed = files.parse(MINIMAL)
    assert parsed.title == "A short letter"
    assert parsed.recipients[0].name == "The Minister"
    assert parsed.body == "The body.\n"
    assert files.dump(parsed) == MINIMAL


def test_unknown_key_names_the_key_and_its_line():
    error = error_for(MINIMAL.replace("sign_off:", "signoff:"))
    assert (error.field, error.line) == ("signoff", 10)
    assert "Unknown key “signoff”" in error.message
    assert str(error) == f"10: signoff: {error.message}"
    assert error.located("x.md").startswith("x.md:10: signoff: ")


def test_unknown_nested_key_names_its_path_and_line():
    error = error_for(MINIMAL.replace("    reply_target_days: 20", "    reply_in: 20"))
    assert (error.field, error.line) == ("recipients[1].reply_in", 7)


def test_missing_subject():
    error = error_for(MINIMAL.replace("subject: A subject\n", ""))
    assert error.field == "subject"
    assert error.line == 1
    empty = error_for(MINIMAL.replace("subject: A subject", "subject:"))
    assert (empty.field, empty.line) == ("subject", 9)


@pytest.mark.parametrize("value, message", [
    ('"23/11/2026 09:00"', "is not a date and time"),
    ('"2026-11-23T09:00:00"', "offset from UTC"),
    ("2026-13-01T09:00:00+00:00", "is not a date and time"),
])
def test_bad_embargo_date(value, message):
    error = error_for(MINIMAL.replace("sign_off: Yours sincerely,", f"sign_off: Yours sincerely,\nembargo: {value}"))
    assert (error.field, error.line) == ("embargo", 11)
    assert message in error.message


def test_embargo_keeps_its_moment_and_is_written_in_london_time():
    text = MINIMAL.replace("sign_off: Yours sincerely,", 'sign_off: Yours sincerely,\nembargo: "2026-07-01T08:00:00Z"')
    parsed = files.parse(text)
    assert parsed.embargo is not None and parsed.embargo.utcoffset().total_seconds() == 0
    assert 'embargo: "2026-07-01T09:00:00+01:00"' in files.dump(parsed)


@pytest.mark.parametrize("change, field, line", [
    (("  - name: The Minister\n", "  - position: Minister\n"), "recipients[1].name", 6),
    (("    reply_target_days: 20", "    reply_target_days: soon"), "recipients[1].reply_target_days", 7),
    (("    reply_target_days: 20", "    reply_target_days: 0"), "recipients[1].reply_target_days", 7),
    (("    reply_target_days: 20", "    reply_target_days: 20\n    email: not-an-address"), "recipients[1].email", 8),
    (("title: A short letter", "title: [a, list]"), "title", 2),
    (("slug: a-short-letter", "slug: Not A Slug"), "slug", 3),
    (("sign_off: Yours sincerely,", "sign_off: Yours sincerely,\nsign_off: Again,"), "sign_off", 11),
    (("sign_off: Yours sincerely,", "sign_off: Yours sincerely,\nsignatories:\n  - name: A\n    kind: robot"),
     "signatories[1].kind", 13),
    (("sign_off: Yours sincerely,", "sign_off: Yours sincerely,\nsignatories:\n  - name: A\n  - name: \" a \""),
     "signatories[2].name", 13),
    (("sign_off: Yours sincerely,", "sign_off: Yours sincerely,\nsignatories:\n  - name: A\n    website: javascript:x"),
     "signatories[1].website", 13),
    (("sign_off: Yours sincerely,", "sign_off: Yours sincerely,\nquotes:\n  - person: A"), "quotes[1].text", 12),
    (("sign_off: Yours sincerely,", "sign_off: Yours sincerely,\npress_contact:\n  role: Press"),
     "press_contact.name", 12),
    (("sign_off: Yours sincerely,", "sign_off: Yours sincerely,\ntags: nope"), "tags", 11),
    (("subject: A subject", "subject: [unclosed"), "front matter", 10),
])
def test_each_error_names_the_field_and_line(change, field, line):
    error = error_for(MINIMAL.replace(*change))
    assert (error.field, error.line) == (field, line), error


def test_front_matter_must_be_there_and_closed():
    assert error_for("Just a body.\n").field == "front matter"
    unclosed = error_for("---\ntitle: x\n")
    assert (unclosed.field, unclosed.line) == ("front matter", 1)


def test_an_empty_or_too_long_body_is_an_error_on_the_body_line():
    empty = error_for(MINIMAL.replace("The body.\n", ""))
    assert (empty.field, empty.line) == ("body", 12)
    huge = error_for(MINIMAL.replace("The body.", "word " * (1024 * 1024)))
    assert huge.field in {"body", "file"}
    assert "too" in huge.message


def test_windows_line_endings_and_a_bom_are_accepted():
    assert files.parse("\ufeff" + MINIMAL.replace("\n", "\r\n")).subject == "A subject"


TRICKY = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\x85\u2028\u2029"),
                 max_size=60)


@hsettings(max_examples=300, deadline=None)
@given(TRICKY)
def test_every_string_is_written_so_any_yaml_reader_reads_it_back(value):
    written = files.scalar(value, 2)
    assert yaml.safe_load(f"k: {written}\n") == {"k": value}


@pytest.mark.parametrize("value", ["yes", "No", "null", "~", "123", "1e3", "0x1F", "2026-11-23", "a: b", "#hash",
                                   "- item", "[x]", "{x}", "'quoted'", '"dq"', " lead", "trail ", "tab\there",
                                   "line\nbreak", "two\n\nparas", "ends\n", "@at", "`tick", "%pct", "&anchor",
                                   "*alias", "!tag", "|pipe", ">fold", "?q", "it's fine", "Ünïcödé “quotes”"])
def test_tricky_values_round_trip_through_a_file(value):
    parsed = files.parse(MINIMAL)
    parsed.notes_to_editors = value
    parsed.quotes = [files.QuoteEntry(person="A Person", text=value or "x", role=value)]
    again = files.parse(files.dump(parsed))
    assert again.notes_to_editors == value
    assert again.quotes[0].text == (value or "x") and again.quotes[0].role == value
    assert files.dump(again) == files.dump(parsed)


# Import into the database ----------------------------------------------------------------------------

def test_import_creates_organisation_campaign_letter_and_approved_signatures(db, make_user):
    author = make_user(organisation="Importer Org")
    parsed = files.parse(MINIMAL.replace("sign_off: Yours sincerely,", "sign_off: Yours sincerely,\nsignatories:\n"
                                         "  - name: First Org\n    signer_name: A Person\n    kind: organisation\n"
                                         "  - name: B Person\n    kind: individual"))
    letter = files.import_letter(session=db, letter_file=parsed, author=author)
    db.commit()
    assert letter.slug == "a-short-letter" and letter.status == "draft"
    from sqlmodel import select

    from backend.signatures.models import Signature

    sigs = db.exec(select(Signature).where(Signature.letter_id == letter.id).order_by(Signature.display_order)).all()
    assert [(s.display_name, s.signer_name, s.kind, s.status, s.via, s.name_key) for s in sigs] == [
        ("First Org", "A Person", "organisation", "approved", "import", "first org"),
        ("B Person", "B Person", "individual", "approved", "import", "b person"),
    ]
    assert len({s.email_key for s in sigs}) == 2
    with pytest.raises(files.LetterFileError) as info:
        files.import_letter(session=db, letter_file=parsed, author=author)
    assert (info.value.field, info.value.line) == ("slug", 3)


@pytest.mark.real_commits
def test_cli_import_then_export_gives_back_the_same_file(engine, settings, tmp_path, capsys):
    source = PROJECT_ROOT / "letters" / "next-commissioner-recruitment.md"
    assert cli(["import", str(source)]) == 0
    assert "Imported" in capsys.readouterr().out
    out = tmp_path / "out.md"
    assert cli(["export", "next-commissioner-recruitment", "-o", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == source.read_text(encoding="utf-8")
    assert cli(["export", "next-commissioner-recruitment"]) == 0
    assert capsys.readouterr().out == source.read_text(encoding="utf-8")


@pytest.mark.real_commits
def test_cli_import_takes_the_slug_from_the_file_name_and_a_campaign(db, make_user, engine, settings, tmp_path,
                                                                   capsys):
    from backend.accounts.service import organisations_of
    from backend.campaigns import service as campaigns

    user = make_user(organisation="Campaign Owner")
    campaign = campaigns.create(session=db, title="Existing campaign",
                                lead_organisation=organisations_of(session=db, user_id=user.id)[0], created_by=user)
    db.commit()
    path = tmp_path / "From The Name.md"
    path.write_text(MINIMAL.replace("slug: a-short-letter\n", ""), encoding="utf-8")
    assert cli(["import", str(path), "--campaign", campaign.slug]) == 0
    db.expire_all()
    letter = service.get_by_slug(session=db, slug="from-the-name")
    assert letter is not None and letter.campaign_id == campaign.id


@pytest.mark.real_commits
def test_cli_errors_are_file_line_field_message_and_exit_2(engine, settings, tmp_path: Path, capsys):
    path = tmp_path / "bad.md"
    path.write_text(MINIMAL.replace("subject:", "subjekt:"), encoding="utf-8")
    assert cli(["import", str(path)]) == 2
    assert capsys.readouterr().err.startswith(f"{path}:9: subjekt: Unknown key “subjekt”")
    assert cli(["import", str(tmp_path / "missing.md")]) == 2
    assert cli(["import", str(path.with_name("x.md")), "--campaign", "nope"]) == 2
    assert cli(["export", "no-such-letter"]) == 2
    assert "no letter with the slug" in capsys.readouterr().err
