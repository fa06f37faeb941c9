"""A word diff between two letter versions, for the email and page asking signatories to approve a new text."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from backend.letters.models import LetterVersion

_TOKEN = re.compile(r"\s+|[^\s]+")


@dataclass(frozen=True)
class Segment:
    op: str  # "same", "insert", "delete"
    text: str


def version_text(version: LetterVersion) -> str:
    return f"{version.subject}\n\n{version.salutation}\n\n{version.body.rstrip()}\n\n{version.sign_off}\n"


def word_diff(old: str, new: str) -> list[Segment]:
    """Segments of unchanged, inserted and deleted words (whitespace kept with the words)."""
    a, b = _TOKEN.findall(old), _TOKEN.findall(new)
    segments: list[Segment] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            segments.append(Segment("same", "".join(a[i1:i2])))
            continue
        if tag in ("delete", "replace"):
            segments.append(Segment("delete", "".join(a[i1:i2])))
        if tag in ("insert", "replace"):
            segments.append(Segment("insert", "".join(b[j1:j2])))
    return segments


def as_plain_text(segments: list[Segment]) -> str:
    """The diff for a plain-text email: [-removed-] and {+added+}."""
    parts = []
    for s in segments:
        if s.op == "same":
            parts.append(s.text)
        elif s.op == "delete":
            parts.append(f"[-{s.text}-]")
        else:
            parts.append(f"{{+{s.text}+}}")
    return "".join(parts)


def between(old: LetterVersion, new: LetterVersion) -> list[Segment]:
    return word_diff(version_text(old), version_text(new))
