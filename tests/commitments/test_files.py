"""The `commitments` key of letter files: parse, canonical dump, import/export byte for byte, errors with lines."""

from __future__ import annotations

import pytest

from backend import PROJECT_ROOT
from backend.commitments import service
from backend.letters import files
from backend.letters.files import LetterFileError

HEAD = """---
title: Measured
slug: measured-letter
campaign: Measured
lead_organisation: Example Coalition
salutation: Dear Commissioner,
subject: Keeping the promise
sign_off: Yours sincerely,
"""
COMMITMENTS = """commitments:
  - text: Halve handcuff use where no arrest is made.
    source:
      title: Handcuffing review
      publisher: Metropolitan Police Service
      date: 2023-05-02
      url: https://met-police.example/handcuffing-review
    status: missed
    metric: Handcuff uses without arrest, per quarter
    unit: other
    unit_label: uses
    direction: down
    baseline:
      value: 1000
      date: 2023-04-01
    target:
      value: 500
      date: 2025-04-01
    evidence:
      - date: 2024-04-01
        value: 800.5
        note: "Down 20%: the review's first effect"
      - date: 2025-06-01
        note: Not reached.
        status: missed
  - text: Publish the review's findings.
    source:
      title: Handcuffing review
      publisher: Metropolitan Police Service
      date: 2023-05-02
      url: https://met-police.example/handcuffing-review
    status: open
    due_on: 2024-01-31
"""
BODY = """---

We write about a promise.
"""
TEXT = HEAD + COMMITMENTS + BODY


def test_a_file_with_commitments_round_trips(db, make_user):
    assert files.dump(files.parse(TEXT)) == TEXT
    author = make_user(organisation="Example Coalition")
    letter = files.import_letter(session=db, letter_file=files.parse(TEXT), author=author)
    db.commit()
    assert files.export_letter(session=db, letter=letter) == TEXT
    tracked = service.get_tracked(session=db, letter=letter)
    assert tracked[0].document.id == tracked[1].document.id  # one document, shared
    first = tracked[0]
    assert first.commitment.status == "missed" and first.standing.state == "missed"
    assert first.standing.overridden and first.fmt(first.evidence[0].value) == "800.5 uses"
    assert [e.status_to for e in first.evidence] == [None, "missed"]
    assert tracked[1].measure is None and tracked[1].standing is None


@pytest.mark.parametrize(("change", "field", "words"), [
    ("      value: 500\n", "commitments[1].target.value", "Expected a number"),
    ("    unit: other\n", "commitments[1].unit", "unit"),
    ("    metric: Handcuff uses without arrest, per quarter\n", "commitments[1].metric", "need a metric"),
    ("        value: 800.5\n", "commitments[1].evidence[1].value", "Expected a number"),
    ("      date: 2023-05-02\n", "commitments[1].source.date", "not a date"),
])
def test_mistakes_name_their_line_and_field(change, field, words):
    broken = {
        "      value: 500\n": "      value: \"500\"\n",
        "    unit: other\n": "    unit: stones\n",
        "    metric: Handcuff uses without arrest, per quarter\n": "",
        "        value: 800.5\n": "        value: 80O\n",
        "      date: 2023-05-02\n": "      date: 2023-02-30\n",
    }[change]
    text = TEXT.replace(change, broken, 1)
    with pytest.raises(LetterFileError) as caught:
        files.parse(text)
    error = caught.value
    assert error.field == field and words in error.message, (error.field, error.message)
    # The line of the mistake (for a missing key: the line of the commitment it is missing from).
    at = text.index(broken) if broken else text.index("  - text: Halve")
    assert error.line == text[:at].count("\n") + 1


def test_the_example_carries_the_recruitment_commitment():
    text = (PROJECT_ROOT / "letters" / "restoring-trust-in-london-policing.md").read_text(encoding="utf-8")
    parsed = files.parse(text)
    recruitment = parsed.commitments[0]
    assert "forty per cent of new recruits" in recruitment.text
    assert recruitment.source.title.endswith("race action plan")
    assert (recruitment.unit, recruitment.target_value, recruitment.baseline_value) == ("percent", 40, 22)
    assert [e.value for e in recruitment.evidence] == [25, 28]
