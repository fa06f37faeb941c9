"""Every example in letters/ imports, renders to HTML and PDF, and round-trips through export unchanged."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlmodel import select

from backend import PROJECT_ROOT
from backend.config import get_settings
from backend.letters import files, service
from backend.letters.pdf import letter_pdf
from backend.letters.rendering import render_letter
from backend.signatures.models import Signature

EXAMPLES = sorted((PROJECT_ROOT / "letters").glob("*.md"))


def pdf_text(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)


def test_there_are_at_least_three_examples():
    assert len(EXAMPLES) >= 3


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_parses_and_dumps_back_to_the_same_text(path: Path):
    text = path.read_text(encoding="utf-8")
    assert files.dump(files.parse(text)) == text


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_imports_renders_and_exports_unchanged(path: Path, db, make_user):
    author = make_user(organisation="Example Coalition for Fair Policing")
    text = path.read_text(encoding="utf-8")
    parsed = files.parse(text)
    letter = files.import_letter(session=db, letter_file=parsed, author=author)
    db.commit()

    assert files.export_letter(session=db, letter=letter) == text

    version = service.current_version(session=db, letter=letter)
    assert version is not None
    sigs = list(db.exec(select(Signature).where(Signature.letter_id == letter.id).order_by(Signature.display_order)))
    assert [s.display_name for s in sigs] == [s.name for s in parsed.signatories]
    assert {s.status for s in sigs} <= {"approved"}
    assert all(s.version_id == version.id and s.content_hash == version.content_hash for s in sigs)

    html = str(render_letter(session=db, letter=letter, version=version, signatures=sigs))
    assert parsed.subject.replace("'", "&#39;") in html
    for recipient in parsed.recipients:
        assert recipient.name in html
    for s in parsed.signatories:
        assert s.name.replace("'", "&#39;") in html

    words = pdf_text(letter_pdf(settings=get_settings(), session=db, letter=letter, version=version, signatures=sigs))
    assert parsed.subject in words
    assert parsed.sign_off in words
    first_sentence = parsed.body.split(".")[0]
    assert " ".join(first_sentence.split()[:8]) in words
    for s in parsed.signatories:
        assert s.name in words


def test_load_examples_imports_each_once(db, make_user, tmp_path: Path):
    author = make_user(organisation="Example Coalition for Fair Policing")
    assert files.load_examples(session=db, directory=PROJECT_ROOT / "letters", author=author) == len(EXAMPLES)
    db.commit()
    assert files.load_examples(session=db, directory=PROJECT_ROOT / "letters", author=author) == 0
    # The importer's organisation can work on every imported letter.
    from backend.campaigns import service as campaigns

    for path in EXAMPLES:
        letter = service.get_by_slug(session=db, slug=files.parse(path.read_text(encoding="utf-8")).slug)
        assert letter is not None
        assert campaigns.role_of(session=db, campaign_id=letter.campaign_id, user=author) == "lead"
