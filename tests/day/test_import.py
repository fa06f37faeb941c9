"""`undersigned import`: every error at once; a directory recipient reused by name and position; a past
embargo kept and explained; tags keep the case they were written in."""

from __future__ import annotations

import pytest
from sqlmodel import select

from backend.cli import main as cli
from backend.letters import files
from tests.letters.test_files import MINIMAL


def test_every_error_in_a_file_at_once(tmp_path, capsys):
    broken = (MINIMAL.replace("sign_off:", "signoff:")
              .replace("    reply_target_days: 20", "    reply_in: 20")
              .replace("The body.\n", "The body.\n") + "")
    broken = broken.replace("slug: a-short-letter", "slug: A Short Letter")
    with pytest.raises(files.LetterFileErrors) as info:
        files.parse(broken)
    # The renamed key is unknown and its absence is missing: both are said, with every other problem.
    assert [e.field for e in info.value.errors] == ["signoff", "sign_off", "slug", "recipients[1].reply_in"]
    path = tmp_path / "broken.md"
    path.write_text(broken, encoding="utf-8")
    assert cli(["import", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 4 and err[2].startswith(f"{path}:3: slug:")


@pytest.mark.real_commits
def test_recipient_reused_embargo_explained_tags_keep_case(db, engine, tmp_path, capsys):
    from backend.letters import service
    from backend.letters.models import Recipient

    first = MINIMAL.replace("  - name: The Minister\n", "  - name: The Minister\n    position: Home Secretary\n"
                            "    email: minister@example.gov.uk\n")
    first = first.replace("sign_off: Yours sincerely,\n", "sign_off: Yours sincerely,\ntags:\n  - UK Asylum\n"
                          "  - uk asylum\n  - Policing\nembargo: \"2022-04-28T00:01:00+01:00\"\n")
    second = MINIMAL.replace("slug: a-short-letter", "slug: a-second-letter").replace(
        "  - name: The Minister\n", "  - name: The Minister\n    position: Home Secretary\n")
    for n, text in enumerate((first, second)):
        path = tmp_path / f"letter{n}.md"
        path.write_text(text, encoding="utf-8")
        assert cli(["import", str(path)]) == 0
    out = capsys.readouterr()
    assert "embargo: it is in the past" in out.err and "web form only takes a future embargo" in out.err
    db.rollback()
    assert len(db.exec(select(Recipient)).all()) == 1
    letter = service.get_by_slug(session=db, slug="a-short-letter")
    assert service.get_tags(session=db, letter_id=letter.id) == ["Policing", "UK Asylum"]
