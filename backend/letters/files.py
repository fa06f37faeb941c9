"""Letters as files (docs/letter-format.md), the names other modules use: the YAML layer is in fileyaml.py,
the entries, parsing and the canonical form in fileformat.py, import and export in transfer.py, the command
line in commands.py."""

from __future__ import annotations

from backend.letters.fileformat import (
    LetterFile,
    PressContactEntry,
    QuoteEntry,
    RecipientEntry,
    SignatoryEntry,
    dump,
    parse,
)
from backend.letters.fileyaml import LetterFileError, LetterFileErrors, scalar
from backend.letters.transfer import export_letter, import_letter, load_examples, notes_on_import, read_letter

__all__ = [
    "LetterFile", "LetterFileError", "LetterFileErrors", "PressContactEntry", "QuoteEntry", "RecipientEntry",
    "SignatoryEntry", "dump", "export_letter", "import_letter", "load_examples", "notes_on_import", "parse",
    "read_letter", "scalar",
]
