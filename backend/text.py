"""Clean text: the one place every name and text typed into a form or read from a letter file passes through.

Unicode lets a name look like another (a right-to-left override, a zero-width space) and lets a control
character into a field that python-docx or an XML parser refuses later. So, at input: names are NFKC-normalised
(full-width and compatibility forms become their plain letters) and refused with a clear message when they hold
a control or invisible format character; longer texts are NFC-normalised and such characters are removed.
`xml_safe` is the last guard before a document is written, for rows stored before these rules.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from backend.errors import InvalidInput

# Joiners that some scripts need inside words (Persian, Indic scripts, emoji sequences): kept in texts.
JOINERS = {"\u200c", "\u200d"}
_NONCHARACTER = re.compile("[\ufdd0-\ufdef\ufffe\uffff]")


def _refused(char: str, *, multiline: bool) -> bool:
    """A control (Cc), format (Cf), surrogate (Cs) or noncharacter code point (tabs and new lines allowed in texts)."""
    if multiline and char in "\n\t":
        return False
    if (ord(char) & 0xFFFE) == 0xFFFE or _NONCHARACTER.match(char):
        return True
    return unicodedata.category(char) in ("Cc", "Cf", "Cs")


# Of the ASCII characters, just the controls are refused (no format, surrogate or noncharacter code point is
# ASCII): text of ASCII characters only, most of what is typed, is checked with one pattern instead of a look at
# each character (tests/identity/test_clean_text.py holds the two ways to the same answer).
_ASCII_CONTROLS = re.compile("[\x00-\x1f\x7f]")
_ASCII_CONTROLS_BUT_LINES = re.compile("[\x00-\x08\x0b-\x1f\x7f]")  # tab and new line stay in texts


def _ascii_refused(multiline: bool) -> re.Pattern[str]:
    return _ASCII_CONTROLS_BUT_LINES if multiline else _ASCII_CONTROLS


def describe(char: str) -> str:
    """"U+202E (RIGHT-TO-LEFT OVERRIDE)": a character named for a person to find it."""
    name = unicodedata.name(char, "")
    return f"U+{ord(char):04X}" + (f" ({name})" if name else "")


def hidden_characters(value: str, *, multiline: bool = False) -> list[str]:
    """The distinct control and invisible format characters in a value, in order of appearance."""
    if value.isascii():
        return list(dict.fromkeys(_ascii_refused(multiline).findall(value)))
    found: list[str] = []
    for char in value:
        if multiline and char in JOINERS:
            continue
        if _refused(char, multiline=multiline) and char not in found:
            found.append(char)
    return found


def clean_text(value: str | None, *, multiline: bool = True) -> str:
    """A text as stored: NFC, Windows line ends made plain, control and invisible format characters removed
    (one line: new lines and tabs become spaces)."""
    text = (value or "").replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n\n")
    text = unicodedata.normalize("NFC", text)
    if not multiline:
        text = text.replace("\n", " ").replace("\t", " ")
    if text.isascii():
        return _ascii_refused(multiline).sub("", text)
    return "".join(c for c in text if not _refused(c, multiline=multiline) or (multiline and c in JOINERS))


def clean_name(value: str | None, *, label: str = "The name", field: str | None = None) -> str:
    """A one-line name as stored: NFKC and single-spaced; InvalidInput naming any hidden character found."""
    text = unicodedata.normalize("NFKC", value or "")
    hidden = hidden_characters(text)
    if hidden:
        listed = ", ".join(describe(c) for c in hidden[:3])
        raise InvalidInput(f"{label} contains invisible or control characters ({listed}). Type it again without "
                           "them (they often come with text copied from elsewhere).", field=field)
    return " ".join(text.split())


def clean_line(value: str | None) -> str:
    """A one-line value from a form where refusing is not worth it (a search, a role): cleaned, single-spaced."""
    return " ".join(clean_text(unicodedata.normalize("NFKC", value or ""), multiline=False).split())


def xml_safe(value: object) -> str:
    """Text that XML 1.0 (DOCX, PDF sources) accepts, whatever is stored."""
    return clean_text(str(value) if value is not None else "", multiline=True)


def fold(name: str | None) -> str:
    """A name case- and whitespace-folded: "  The  Charity " and "the charity" are one organisation."""
    return " ".join((name or "").split()).casefold()


# A name's skeleton (Unicode TS #39): every character replaced by the prototype of its confusable class, from the
# Unicode confusables data shipped with `confusable-homoglyphs`. Names that read alike share one: a look-alike of a
# signatory or of an organisation is held for the lead (backend/signatures/identity.py).

@lru_cache(maxsize=1)
def _prototypes() -> dict[str, str]:
    """Each confusable character → the prototype of its class, as in TS #39's confusables.txt.

    The data lists, for a prototype, every character confusable with it, and for each of those, the prototype
    (and sometimes a few others): so the prototype is the member with the longest list.
    """
    from confusable_homoglyphs.utils import load  # deliberate: a large table, loaded on first use, not at import

    data = load("confusables.json")
    table = {}
    for char, glyphs in data.items():
        members = [char, *(g["c"] for g in glyphs if len(g["c"]) == 1)]
        table[char] = max(members, key=lambda c: (len(data.get(c, ())), c))
    return table


@lru_cache(maxsize=1)
def _translation() -> dict[int, str]:
    """`_prototypes` as a table for `str.translate` (which looks each character up without a Python call)."""
    return {ord(char): prototype for char, prototype in _prototypes().items() if len(char) == 1}


def _map(text: str) -> str:
    return unicodedata.normalize("NFD", text).translate(_translation())


@lru_cache(maxsize=20_000)
def skeleton(name: str) -> str:
    """The name as a reader sees it: confusables to their prototype, case, accents, spaces, punctuation and
    invisible characters folded away."""
    text = _map(_map(unicodedata.normalize("NFKC", name or "")).casefold())
    kept = "".join(c for c in text if unicodedata.category(c)[0] not in ("Z", "P", "C", "M"))
    # Folding case loses which "l" was an "I": treat i and l as one, and "rn" as "m" (TS #39 maps m to rn).
    return unicodedata.normalize("NFC", kept.replace("i", "l").replace("rn", "m"))[:400]


WEBSITE_MAX = 500
WEBSITE_RE = re.compile(r"^https?://[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                        r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+(?::\d{1,5})?(?:[/?#][^\s<>\"]*)?$")


def clean_website(raw: str | None, *, field: str = "website") -> str | None:
    """An http(s) address or nothing; a bare domain gets https:// in front. The one website rule."""
    value = (raw or "").strip()
    if not value:
        return None
    if not value.lower().startswith(("http://", "https://")):
        value = "https://" + value
    if len(value) > WEBSITE_MAX:
        raise InvalidInput(f"The website address is too long ({WEBSITE_MAX} characters at most).", field=field)
    if not WEBSITE_RE.match(value):
        raise InvalidInput("Enter a website address like https://example.org.", field=field)
    return value
