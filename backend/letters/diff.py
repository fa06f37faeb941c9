"""A readable word-level diff between two versions of a letter, marked for sight and for screen readers."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from markupsafe import Markup, escape

from backend.letters.models import LetterVersion

# Words and the whitespace between them are separate tokens, so a change shows as whole words.
_TOKEN = re.compile(r"\s+|[^\s]+")
PARTS = (("subject", "Subject"), ("salutation", "Salutation"), ("body", "Body"), ("sign_off", "Sign-off"))


@dataclass(frozen=True)
class Change:
    op: str  # "equal", "insert" or "delete"
    text: str


@dataclass(frozen=True)
class PartDiff:
    name: str
    label: str
    changes: list[Change]

    @property
    def changed(self) -> bool:
        return any(c.op != "equal" for c in self.changes)

    @property
    def html(self) -> Markup:
        return to_html(self.changes)


def word_diff(old: str, new: str) -> list[Change]:
    """The changes that turn `old` into `new`, word by word."""
    a, b = _TOKEN.findall(old), _TOKEN.findall(new)
    changes: list[Change] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            changes.append(Change("equal", "".join(a[i1:i2])))
            continue
        removed, added = "".join(a[i1:i2]), "".join(b[j1:j2])
        if removed:
            changes.append(Change("delete", removed))
        if added:
            changes.append(Change("insert", added))
    return changes


def version_text(version: LetterVersion) -> str:
    """The whole text a signatory approves, as one string: subject, salutation, body, sign-off."""
    return f"{version.subject}\n\n{version.salutation}\n\n{version.body.rstrip()}\n\n{version.sign_off}\n"


def text_diff(old: LetterVersion | None, new: LetterVersion) -> list[Change]:
    """A word diff of the whole text; with no earlier version everything counts as added."""
    return word_diff(version_text(old) if old else "", version_text(new))


def as_plain_text(changes: list[Change]) -> str:
    """The diff for a plain-text email: [-removed-] and {+added+}."""
    marks = {"equal": "{}", "delete": "[-{}-]", "insert": "{{+{}+}}"}
    return "".join(marks[c.op].format(c.text) for c in changes)


def to_html(changes: list[Change]) -> Markup:
    """<ins>/<del> with visually hidden "added:"/"removed:" words so screen readers announce them too."""
    out = []
    for c in changes:
        if c.op == "equal":
            out.append(escape(c.text))
        elif c.op == "insert":
            out.append(Markup('<ins><span class="visually-hidden">[added: </span>{}'
                              '<span class="visually-hidden">]</span></ins>').format(c.text))
        else:
            out.append(Markup('<del><span class="visually-hidden">[removed: </span>{}'
                              '<span class="visually-hidden">]</span></del>').format(c.text))
    return Markup("").join(out)


def diff_versions(old: LetterVersion, new: LetterVersion) -> list[PartDiff]:
    """A diff of each part of the letter text: subject, salutation, body, sign-off."""
    return [PartDiff(name, label, word_diff(getattr(old, name), getattr(new, name))) for name, label in PARTS]


def added_and_removed(parts: list[PartDiff]) -> tuple[list[str], list[str]]:
    """The added and removed runs of words, stripped (for summaries and tests)."""
    added = [c.text.strip() for p in parts for c in p.changes if c.op == "insert" and c.text.strip()]
    removed = [c.text.strip() for p in parts for c in p.changes if c.op == "delete" and c.text.strip()]
    return added, removed
