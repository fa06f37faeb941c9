"""CSV in (organisations and emails to invite) and out (the signatory list), safe for spreadsheets."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

MAX_INVITE_ROWS = 1000
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
NAME_HEADERS = ("organisation", "organisation name", "organization", "organization name", "name", "org")
EMAIL_HEADERS = ("email", "email address", "e-mail", "contact email")


@dataclass(frozen=True)
class InviteRow:
    line: int
    organisation_name: str
    email: str


def neutralise(value: object) -> str:
    """A cell a spreadsheet will not run as a formula: a leading = + - @ gets a single quote before it."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def parse_invites(text: str) -> list[InviteRow]:
    """Reads "Organisation name, email" lines (pasted or a CSV file, with or without a header row)."""
    text = text.lstrip("\ufeff")
    rows = list(csv.reader(io.StringIO(text)))
    name_col, email_col, start = 0, 1, 0
    for index, row in enumerate(rows):
        if not any(cell.strip() for cell in row):
            continue
        header = [cell.strip().casefold() for cell in row]
        if any(h in EMAIL_HEADERS for h in header):
            email_col = next(i for i, h in enumerate(header) if h in EMAIL_HEADERS)
            name_col = next((i for i, h in enumerate(header) if h in NAME_HEADERS), 0 if email_col else 1)
            start = index + 1
        break
    result = []
    for number, row in enumerate(rows[start:], start=start + 1):
        if not any(cell.strip() for cell in row):
            continue
        cells = [cell.strip() for cell in row]
        if len(cells) > max(name_col, email_col):
            name, email = cells[name_col], cells[email_col]
        elif len(cells) == 1 and "@" in cells[0]:
            name, email = "", cells[0]
        else:
            name, email = cells[0] if cells else "", ""
        result.append(InviteRow(line=number, organisation_name=" ".join(name.split()), email=email))
    return result


def write(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A CSV text with every cell neutralised."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([neutralise(h) for h in header])
    for row in rows:
        writer.writerow([neutralise(cell) for cell in row])
    return out.getvalue()
