"""The word-level diff between two versions."""

from __future__ import annotations

from backend.letters import diff
from backend.letters.models import LetterVersion


def version(body: str, subject: str = "Subject", number: int = 1) -> LetterVersion:
    return LetterVersion(letter_id=1, number=number, salutation="Dear Minister,", subject=subject, body=body,
                         sign_off="Yours sincerely,", content_hash="")


def test_only_changed_words_are_marked():
    old, new = version("We ask you to meet us soon.\n"), version("We urge you to meet us this month.\n")
    parts = diff.diff_versions(old, new)
    added, removed = diff.added_and_removed(parts)
    assert added == ["urge", "this month."]
    assert removed == ["ask", "soon."]
    body = next(p for p in parts if p.name == "body")
    assert body.changed and not next(p for p in parts if p.name == "subject").changed


def test_html_is_escaped_and_marked_for_screen_readers():
    changes = diff.word_diff("a <b>", "a <script>alert(1)</script>")
    html = str(diff.to_html(changes))
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert '<ins><span class="visually-hidden">[added: </span>' in html
    assert '<del><span class="visually-hidden">[removed: </span>&lt;b&gt;' in html


def test_identical_versions_have_no_changes():
    parts = diff.diff_versions(version("Same.\n"), version("Same.\n", number=2))
    assert not any(p.changed for p in parts)
