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


def describe(char: str) -> str:
    """"U+202E (RIGHT-TO-LEFT OVERRIDE)": a character named for a person to find it."""
    name = unicodedata.name(char, "")
    return f"U+{ord(char):04X}" + (f" ({name})" if name else "")


def hidden_characters(value: str, *, multiline: bool = False) -> list[str]:
    """The distinct control and invisible format characters in a value, in order of appearance."""
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
