"""Letters as files: Markdown with YAML front matter, imported and exported byte for byte.

The format is documented in docs/letter-format.md. Parsing walks the composed YAML node tree (not the
constructed objects) so every error can name its line, and so dates and numbers stay the strings they were.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func
from sqlmodel import Session, col, select

from backend.accounts import service as accounts
from backend.accounts.models import Organisation, User
from backend.campaigns import service as campaigns
from backend.campaigns.models import Campaign
from backend.clock import LONDON
from backend.db import as_utc, utcnow
from backend.errors import InvalidInput
from backend.letters import service as letters
from backend.letters.models import Letter, PressContact, Quote, Recipient
from backend.signatures.enums import SignatureKind, SignatureStatus, SignatureVia
from backend.signatures.identity import skeleton
from backend.signatures.models import SIGNATURE_KINDS, Signature
from backend.text import describe, fold, hidden_characters

DELIMITER = "---"
MAX_FILE_BYTES = 6 * 1024 * 1024

# The canonical order of the keys, which export follows; parse accepts any order.
TOP_KEYS = (
    "title", "slug", "campaign", "lead_organisation", "recipients", "salutation", "subject", "sign_off",
    "quotes", "press_contact", "notes_to_editors", "tags", "embargo", "signatories",
    "commitments",  # backend/commitments/files.py
)
RECIPIENT_KEYS = ("name", "position", "organisation", "email", "reply_target_days")
QUOTE_KEYS = ("person", "role", "organisation", "text")
PRESS_KEYS = ("name", "role", "organisation", "email", "phone", "out_of_hours_phone")
SIGNATORY_KEYS = ("name", "signer_name", "signer_role", "kind", "website")
DEFAULT_REPLY_TARGET_DAYS = 20

STR = "tag:yaml.org,2002:str"
INT = "tag:yaml.org,2002:int"
NULL = "tag:yaml.org,2002:null"


class LetterFileError(Exception):
    """A problem in a letter file, with the field and line it is on."""

    def __init__(self, message: str, *, field: str, line: int) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.line = line

    def __str__(self) -> str:
        return f"{self.line}: {self.field}: {self.message}"

    def located(self, filename: str) -> str:
        """`file:line: field: message`, as compilers write it."""
        return f"{filename}:{self.line}: {self.field}: {self.message}"


class LetterFileErrors(LetterFileError):
    """Every problem found in a file, in the order found; the exception's own message is the first."""

    def __init__(self, errors: list[LetterFileError]) -> None:
        super().__init__(errors[0].message, field=errors[0].field, line=errors[0].line)
        self.errors = errors

    def located(self, filename: str) -> str:
        return "\n".join(LetterFileError.located(e, filename) for e in self.errors)


@dataclass
class RecipientEntry:
    name: str
    position: str = ""
    organisation: str = ""
    email: str = ""
    reply_target_days: int = DEFAULT_REPLY_TARGET_DAYS


@dataclass
class QuoteEntry:
    person: str
    text: str
    role: str = ""
    organisation: str = ""


@dataclass
class PressContactEntry:
    name: str
    role: str = ""
    organisation: str = ""
    email: str = ""
    phone: str = ""
    out_of_hours_phone: str = ""


@dataclass
class SignatoryEntry:
    name: str
    signer_name: str
    kind: str = "organisation"
    signer_role: str = ""
    website: str = ""


@dataclass
class LetterFile:
    """A parsed letter file. `lines` maps each field to the line it was on (for errors found later)."""

    title: str
    salutation: str
    subject: str
    sign_off: str
    body: str
    slug: str = ""
    campaign: str = ""
    lead_organisation: str = ""
    recipients: list[RecipientEntry] = field(default_factory=list)
    quotes: list[QuoteEntry] = field(default_factory=list)
    press_contact: PressContactEntry | None = None
    notes_to_editors: str = ""
    tags: list[str] = field(default_factory=list)
    embargo: datetime | None = None
    signatories: list[SignatoryEntry] = field(default_factory=list)
    commitments: list[Any] = field(default_factory=list)  # backend.commitments.files.CommitmentEntry
    lines: dict[str, int] = field(default_factory=dict)

    def line_of(self, name: str) -> int:
        return self.lines.get(name, 1)



# Parsing ---------------------------------------------------------------------------------------------

def _split(text: str) -> tuple[str, str, int]:
    """The front matter, the body and the file line the body starts on."""
    lines = text.split("\n")
    if not lines or lines[0].rstrip() != DELIMITER:
        raise LetterFileError("The file must start with a line of three dashes (---) and the YAML front matter.",
                              field="front matter", line=1)
    for index in range(1, len(lines)):
        if lines[index].rstrip() == DELIMITER:
            front = "\n".join(lines[1:index]) + "\n"
            return front, "\n".join(lines[index + 1:]), index + 2
    raise LetterFileError("The front matter is not closed: end it with a line of three dashes (---).",
                          field="front matter", line=1)


class _Reader:
    """Reads typed values out of YAML nodes, turning every problem into a LetterFileError with its line."""

    def __init__(self, offset: int) -> None:
        self.offset = offset  # file line of the front matter's first line, minus one

    def line(self, node: yaml.Node) -> int:
        return node.start_mark.line + 1 + self.offset

    def fail(self, node: yaml.Node, where: str, message: str) -> LetterFileError:
        return LetterFileError(message, field=where, line=self.line(node))

    def mapping(self, node: yaml.Node, where: str, allowed: tuple[str, ...],
                errors: list[LetterFileError] | None = None) -> dict[str, tuple[yaml.Node, int]]:
        """The keys and values; an unknown or repeated key goes to `errors` when given (else it is raised)."""
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, where, "Expected keys and values here (a mapping).")
        found: dict[str, tuple[yaml.Node, int]] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise self.fail(key_node, where, "A key must be a plain word.")
            key = key_node.value
            name = f"{where}.{key}" if where else key
            problem = (f"Unknown key “{key}”. Known keys: {', '.join(allowed)}." if key not in allowed
                       else f"The key “{key}” appears twice." if key in found else "")
            if problem and errors is None:
                raise self.fail(key_node, name, problem)
            if problem and errors is not None:
                errors.append(self.fail(key_node, name, problem))
                continue
            found[key] = (value_node, self.line(key_node))
        return found

    def text(self, node: yaml.Node, where: str, *, max_length: int | None = None, required: bool = False) -> str:
        if not isinstance(node, yaml.ScalarNode):
            raise self.fail(node, where, "Expected text here, not a list or mapping.")
        value = "" if node.tag == NULL and node.style is None else str(node.value)
        hidden = hidden_characters(value, multiline=True)
        if hidden:
            listed = ", ".join(describe(c) for c in hidden[:3])
            raise self.fail(node, where, f"This holds invisible or control characters ({listed}): remove them.")
        if required and not value.strip():
            raise self.fail(node, where, "This cannot be empty.")
        if max_length is not None and len(value) > max_length:
            raise self.fail(node, where, f"Too long: {max_length:,} characters at most.")
        return value

    def integer(self, node: yaml.Node, where: str, *, low: int, high: int) -> int:
        value = self.text(node, where, required=True)
        if node.tag != INT or getattr(node, "style", None) is not None:
            raise self.fail(node, where, "Expected a whole number.")
        try:
            number = int(value)
        except ValueError:
            raise self.fail(node, where, "Expected a whole number.") from None
        if not low <= number <= high:
            raise self.fail(node, where, f"Expected a number from {low} to {high}.")
        return number

    def sequence(self, node: yaml.Node, where: str) -> list[yaml.Node]:
        if isinstance(node, yaml.ScalarNode) and node.tag == NULL and node.style is None:
            return []
        if not isinstance(node, yaml.SequenceNode):
            raise self.fail(node, where, "Expected a list here (lines starting with “- ”).")
        return list(node.value)


def _check_url(reader: _Reader, node: yaml.Node, where: str, value: str) -> str:
    if value and (not value.startswith(("https://", "http://")) or any(c.isspace() for c in value)):
        raise reader.fail(node, where, "A website must be an address starting with https:// or http://.")
    return value


def _check_email(reader: _Reader, node: yaml.Node, where: str, value: str) -> str:
    if not value:
        return value
    try:
        normalised = accounts.normalise_email(value)
    except InvalidInput as exc:
        raise reader.fail(node, where, exc.message) from None
    if normalised != value:
        raise reader.fail(node, where, f"Write the address in lower case, without spaces: {normalised}")
    return value


def _recipients(reader: _Reader, node: yaml.Node) -> list[RecipientEntry]:
    out = []
    for index, item in enumerate(reader.sequence(node, "recipients"), start=1):
        where = f"recipients[{index}]"
        values = reader.mapping(item, where, RECIPIENT_KEYS)
        if "name" not in values:
            raise reader.fail(item, f"{where}.name", "Each recipient needs a name.")
        entry = RecipientEntry(name=reader.text(values["name"][0], f"{where}.name", max_length=200, required=True))
        for key in ("position", "organisation"):
            if key in values:
                setattr(entry, key, reader.text(values[key][0], f"{where}.{key}", max_length=300 if key ==
                                                "position" else 200))
        if "email" in values:
            email_node = values["email"][0]
            entry.email = _check_email(reader, email_node, f"{where}.email",
                                       reader.text(email_node, f"{where}.email"))
        if "reply_target_days" in values:
            entry.reply_target_days = reader.integer(values["reply_target_days"][0], f"{where}.reply_target_days",
                                                     low=1, high=365)
        out.append(entry)
    return out


def _quotes(reader: _Reader, node: yaml.Node) -> list[QuoteEntry]:
    out = []
    for index, item in enumerate(reader.sequence(node, "quotes"), start=1):
        where = f"quotes[{index}]"
        values = reader.mapping(item, where, QUOTE_KEYS)
        for key in ("person", "text"):
            if key not in values:
                raise reader.fail(item, f"{where}.{key}", "Each quote needs the person and the text.")
        entry = QuoteEntry(
            person=reader.text(values["person"][0], f"{where}.person", max_length=200, required=True),
            text=reader.text(values["text"][0], f"{where}.text", max_length=5000, required=True),
        )
        for key in ("role", "organisation"):
            if key in values:
                setattr(entry, key, reader.text(values[key][0], f"{where}.{key}", max_length=200))
        out.append(entry)
    return out


def _press_contact(reader: _Reader, node: yaml.Node) -> PressContactEntry | None:
    if isinstance(node, yaml.ScalarNode) and node.tag == NULL:
        return None
    values = reader.mapping(node, "press_contact", PRESS_KEYS)
    if "name" not in values:
        raise reader.fail(node, "press_contact.name", "The press contact needs a name.")
    entry = PressContactEntry(name=reader.text(values["name"][0], "press_contact.name", max_length=200,
                                               required=True))
    for key in PRESS_KEYS[1:]:
        if key in values:
            limit = 40 if "phone" in key else 254 if key == "email" else 200
            setattr(entry, key, reader.text(values[key][0], f"press_contact.{key}", max_length=limit))
    if entry.email:
        _check_email(reader, values["email"][0], "press_contact.email", entry.email)
    return entry


def _signatories(reader: _Reader, node: yaml.Node) -> list[SignatoryEntry]:
    out = []
    seen: set[tuple[str, str]] = set()
    for index, item in enumerate(reader.sequence(node, "signatories"), start=1):
        where = f"signatories[{index}]"
        values = reader.mapping(item, where, SIGNATORY_KEYS)
        if "name" not in values:
            raise reader.fail(item, f"{where}.name", "Each signatory needs a name.")
        name = reader.text(values["name"][0], f"{where}.name", max_length=200, required=True)
        kind = "organisation"
        if "kind" in values:
            kind = reader.text(values["kind"][0], f"{where}.kind")
            if kind not in SIGNATURE_KINDS:
                raise reader.fail(values["kind"][0], f"{where}.kind",
                                  f"The kind is “organisation” or “individual”, not “{kind}”.")
        signer = name
        if "signer_name" in values:
            signer = reader.text(values["signer_name"][0], f"{where}.signer_name", max_length=200, required=True)
        entry = SignatoryEntry(name=name, signer_name=signer, kind=kind)
        if "signer_role" in values:
            entry.signer_role = reader.text(values["signer_role"][0], f"{where}.signer_role", max_length=200)
        if "website" in values:
            website_node = values["website"][0]
            entry.website = _check_url(reader, website_node, f"{where}.website",
                                       reader.text(website_node, f"{where}.website", max_length=500))
        key = (kind, fold(name))
        if key in seen:
            raise reader.fail(item, f"{where}.name", f"“{name}” is listed twice.")
        seen.add(key)
        out.append(entry)
    return out


def _embargo(reader: _Reader, node: yaml.Node) -> datetime | None:
    value = reader.text(node, "embargo").strip()
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise reader.fail(node, "embargo", f"“{value}” is not a date and time like 2026-11-23T09:00:00+00:00.") \
            from None
    if moment.tzinfo is None:
        raise reader.fail(node, "embargo", "Give the embargo with its offset from UTC, like "
                                           "2026-11-23T09:00:00+00:00 (GMT) or 2026-06-01T09:00:00+01:00 (BST).")
    return moment


MAX_DEPTH = 8  # the format nests three levels; deeper is a mistake or an attack on the parser


def _check_depth(root: yaml.Node | None) -> None:
    """LetterFileError when the front matter nests deeper than MAX_DEPTH (checked without recursion)."""
    stack = [(root, 1)] if root is not None else []
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise LetterFileError(f"The front matter is nested too deeply ({MAX_DEPTH} levels at most).",
                                  field="front matter", line=node.start_mark.line + 2)
        if isinstance(node, yaml.SequenceNode):
            stack.extend((child, depth + 1) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            stack.extend((child, depth + 1) for pair in node.value for child in pair)


def parse(text: str) -> LetterFile:
    """Parses a letter file; LetterFileError names the field and the line of the first problem."""
    if len(text.encode("utf-8")) > MAX_FILE_BYTES:
        raise LetterFileError(f"The file is too large ({MAX_FILE_BYTES // 1024 // 1024} MB at most).",
                              field="file", line=1)
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    front, body, body_line = _split(text)
    hidden = hidden_characters(body, multiline=True)
    if hidden:
        line = body_line + body[:body.index(hidden[0])].count("\n")
        raise LetterFileError(f"The body holds invisible or control characters ({describe(hidden[0])}): remove them.",
                              field="body", line=line)
    reader = _Reader(offset=1)
    try:
        root = yaml.compose(front, Loader=yaml.SafeLoader)
        _check_depth(root)
    except RecursionError:
        raise LetterFileError(f"The front matter is nested too deeply ({MAX_DEPTH} levels at most).",
                              field="front matter", line=1) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 2 if mark is not None else 1
        problem = getattr(exc, "problem", None) or str(exc)
        raise LetterFileError(f"The front matter is not valid YAML: {problem}.", field="front matter",
                              line=line) from None
    if root is None:
        raise LetterFileError("The front matter is empty.", field="front matter", line=1)
    # Every section is read even when an earlier one has a problem, so one run reports them all.
    errors: list[LetterFileError] = []
    values = reader.mapping(root, "", TOP_KEYS, errors)
    lines = {key: line for key, (_node, line) in values.items()}
    lines["body"] = body_line

    def attempt(read: Any, default: Any) -> Any:
        try:
            return read()
        except LetterFileError as exc:
            errors.extend(exc.errors if isinstance(exc, LetterFileErrors) else [exc])
            return default

    def required(key: str, max_length: int) -> str:
        if key not in values:
            errors.append(LetterFileError(f"The front matter needs “{key}”.", field=key, line=1))
            return ""
        return str(attempt(lambda: reader.text(values[key][0], key, max_length=max_length, required=True), ""))

    def optional(key: str, max_length: int) -> str:
        if key not in values:
            return ""
        return str(attempt(lambda: reader.text(values[key][0], key, max_length=max_length), ""))

    result = LetterFile(
        title=required("title", 200),
        salutation=required("salutation", 300),
        subject=required("subject", 300),
        sign_off=required("sign_off", 200),
        body=body.lstrip("\n"),
        slug=optional("slug", 120),
        campaign=optional("campaign", 200),
        lead_organisation=optional("lead_organisation", 200),
        notes_to_editors=optional("notes_to_editors", 20_000),
        lines=lines,
    )
    if result.slug and accounts.slugify(result.slug) != result.slug:
        suggestion = accounts.slugify(result.slug)
        errors.append(reader.fail(values["slug"][0], "slug",
                                  f"A slug has only lower-case letters, digits and dashes, like “{suggestion}”."))
    if "recipients" in values:
        result.recipients = attempt(lambda: _recipients(reader, values["recipients"][0]), [])
    if "quotes" in values:
        result.quotes = attempt(lambda: _quotes(reader, values["quotes"][0]), [])
    if "press_contact" in values:
        result.press_contact = attempt(lambda: _press_contact(reader, values["press_contact"][0]), None)
    if "tags" in values:
        result.tags = attempt(lambda: [reader.text(n, "tags", max_length=60, required=True)
                                       for n in reader.sequence(values["tags"][0], "tags")], [])
    if "embargo" in values:
        result.embargo = attempt(lambda: _embargo(reader, values["embargo"][0]), None)
    if "signatories" in values:
        result.signatories = attempt(lambda: _signatories(reader, values["signatories"][0]), [])
    if "commitments" in values:
        from backend.commitments import files as commitment_files

        result.commitments = attempt(lambda: commitment_files.parse(reader, values["commitments"][0]), [])
    if not any(e.field in ("salutation", "subject", "sign_off") for e in errors):
        try:
            letters.validate_text(letters.LetterText(salutation=result.salutation, subject=result.subject,
                                                     body=result.body, sign_off=result.sign_off))
        except InvalidInput as exc:
            where = exc.field or "body"
            errors.append(LetterFileError(exc.message, field=where, line=result.line_of(where)))
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise LetterFileErrors(errors)
    return result


# Export ----------------------------------------------------------------------------------------------

def _plain_ok(value: str) -> bool:
    """Whether a string can be written without quotes and read back as the same string by any YAML reader."""
    if not value or value != value.strip() or "\n" in value or value[0] in "'\"" or "\t" in value:
        return False
    try:
        return bool(yaml.safe_load(f"k: {value}\n") == {"k": value})
    except yaml.YAMLError:
        return False


def _scalar(value: str, indent: int) -> str:
    """A string in its canonical YAML form: plain, a literal block (several lines) or double-quoted."""
    if _plain_ok(value):
        return value
    pad = " " * indent
    if ("\n" in value and not value.startswith((" ", "\n")) and not value.endswith("\n")
            and all(ch == "\n" or ch.isprintable() for ch in value)
            and not any(line != line.rstrip() for line in value.split("\n"))):
        block = "|-\n" + "\n".join(pad + line if line else "" for line in value.split("\n"))
        if yaml.safe_load(f"k: {block}\n") == {"k": value}:
            return block
    return _double_quoted(value)


# What YAML allows unescaped in a file; everything else is written as a \u escape.
_NOT_YAML_PRINTABLE = re.compile("[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _double_quoted(value: str) -> str:
    """JSON's double-quoted string is YAML's too, once the characters YAML refuses are escaped."""
    return _NOT_YAML_PRINTABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", json.dumps(value, ensure_ascii=False))


def _emit_mapping(pairs: list[tuple[str, Any]], indent: int, first_prefix: str = "") -> Iterator[str]:
    """Lines for a mapping; the first line may carry a list item's dash."""
    pad = " " * indent
    for i, (key, value) in enumerate(pairs):
        lead = first_prefix if i == 0 and first_prefix else pad
        if isinstance(value, int) and not isinstance(value, bool):
            yield f"{lead}{key}: {value}"
        else:
            yield f"{lead}{key}: {_scalar(str(value), indent + 2)}"


def _pairs(entry: Any, keys: tuple[str, ...], *, always: tuple[str, ...] = ()) -> list[tuple[str, Any]]:
    out = []
    for key in keys:
        value = getattr(entry, key)
        if key in always or (value not in ("", None)):
            out.append((key, value))
    return out


def dump(letter_file: LetterFile) -> str:
    """A LetterFile in the canonical text form (the one export writes and the examples use)."""
    lf = letter_file
    out: list[str] = [DELIMITER]

    def simple(key: str, value: str) -> None:
        if value:
            out.append(f"{key}: {_scalar(value, 2)}")

    def items(key: str, entries: list[Any], keys: tuple[str, ...], always: tuple[str, ...]) -> None:
        if not entries:
            return
        out.append(f"{key}:")
        for entry in entries:
            out.extend(_emit_mapping(_pairs(entry, keys, always=always), 4, first_prefix="  - "))

    simple("title", lf.title)
    simple("slug", lf.slug)
    simple("campaign", lf.campaign)
    simple("lead_organisation", lf.lead_organisation)
    items("recipients", lf.recipients, RECIPIENT_KEYS, ("name", "reply_target_days"))
    simple("salutation", lf.salutation)
    simple("subject", lf.subject)
    simple("sign_off", lf.sign_off)
    items("quotes", lf.quotes, ("person", "role", "organisation", "text"), ("person", "text"))
    if lf.press_contact is not None:
        out.append("press_contact:")
        out.extend(_emit_mapping(_pairs(lf.press_contact, PRESS_KEYS, always=("name",)), 2))
    simple("notes_to_editors", lf.notes_to_editors)
    if lf.tags:
        out.append("tags:")
        out.extend(f"  - {_scalar(tag, 4)}" for tag in lf.tags)
    if lf.embargo is not None:
        out.append(f"embargo: {_scalar(lf.embargo.astimezone(LONDON).isoformat(), 2)}")
    signatories = [
        SignatoryEntry(name=s.name, signer_name="" if s.signer_name == s.name else s.signer_name, kind=s.kind,
                       signer_role=s.signer_role, website=s.website)
        for s in lf.signatories
    ]
    items("signatories", signatories, SIGNATORY_KEYS, ("name", "kind"))
    if lf.commitments:
        from backend.commitments import files as commitment_files

        out.extend(commitment_files.dump_lines(lf.commitments))
    out.append(DELIMITER)
    out.append("")
    return "\n".join(out) + "\n" + lf.body.strip("\n") + "\n"


def read_letter(*, session: Session, letter: Letter) -> LetterFile:
    """A stored letter as a LetterFile: its current text and its approved signatories (never their emails)."""
    version = letters.current_version(session=session, letter=letter)
    if version is None:
        raise InvalidInput("This letter has no text yet, so there is nothing to export.", field="body")
    campaign = session.get(Campaign, letter.campaign_id)
    lead = session.get(Organisation, campaign.lead_organisation_id) if campaign else None
    press = letters.get_press_contact(session=session, letter_id=letter.id)  # type: ignore[arg-type]
    signatures = session.exec(
        select(Signature).where(Signature.letter_id == letter.id)
        .where(Signature.status == "approved")
        .order_by(col(Signature.display_order), col(Signature.id))
    ).all()
    embargo = as_utc(letter.embargo_at)
    from backend.commitments import files as commitment_files

    return LetterFile(
        title=letter.title,
        slug=letter.slug,
        campaign=campaign.title if campaign else "",
        lead_organisation=lead.name if lead else "",
        recipients=[
            RecipientEntry(name=r.name, position=r.position, organisation=r.recipient_organisation,
                           email=r.email or "", reply_target_days=r.reply_target_days)
            for r in letters.get_recipients(session=session, letter_id=letter.id)  # type: ignore[arg-type]
        ],
        salutation=version.salutation,
        subject=version.subject,
        sign_off=version.sign_off,
        quotes=[QuoteEntry(person=q.person, role=q.role, organisation=q.organisation, text=q.text)
                for q in letters.get_quotes(session=session, letter_id=letter.id)],  # type: ignore[arg-type]
        press_contact=PressContactEntry(
            name=press.name, role=press.role, organisation=press.organisation, email=press.email,
            phone=press.phone, out_of_hours_phone=press.out_of_hours_phone,
        ) if press else None,
        notes_to_editors=letter.notes_to_editors or "",
        tags=letters.get_tags(session=session, letter_id=letter.id),  # type: ignore[arg-type]
        embargo=embargo.astimezone(LONDON) if embargo else None,
        signatories=[
            SignatoryEntry(name=s.display_name, signer_name=s.signer_name, kind=s.kind,
                           signer_role=s.signer_role, website=s.website or "")
            for s in signatures
        ],
        commitments=commitment_files.read(session=session, letter=letter),
        body=version.body,
    )


def export_letter(*, session: Session, letter: Letter) -> str:
    """The letter as a Markdown file with YAML front matter, in the canonical form."""
    return dump(read_letter(session=session, letter=letter))


# Import ----------------------------------------------------------------------------------------------

def _organisation(*, session: Session, name: str) -> Organisation:
    existing = session.exec(select(Organisation).where(Organisation.name == name).order_by(col(Organisation.id)))
    return existing.first() or accounts.create_organisation(session=session, name=name)


def _campaign(*, session: Session, lf: LetterFile, author: User | None, campaign_slug: str | None) -> Campaign:
    if campaign_slug:
        found = campaigns.get_by_slug(session=session, slug=campaign_slug)
        if found is None:
            raise LetterFileError(f"There is no campaign with the slug “{campaign_slug}”.", field="campaign", line=1)
        return found
    if not lf.lead_organisation.strip():
        raise LetterFileError("Name the lead organisation (or import with --campaign SLUG).",
                              field="lead_organisation", line=1)
    lead = _organisation(session=session, name=lf.lead_organisation)
    title = lf.campaign or lf.title
    campaign = session.exec(
        select(Campaign).where(Campaign.title == title).where(Campaign.lead_organisation_id == lead.id)
    ).first() or campaigns.create(session=session, title=title, lead_organisation=lead, created_by=author)
    if author is not None and campaigns.role_of(session=session, campaign_id=campaign.id,  # type: ignore[arg-type]
                                                user=author) is None:
        # Whoever imports a letter can work on it: their organisation joins the coalition as a lead.
        own = accounts.organisations_of(session=session, user_id=author.id)  # type: ignore[arg-type]
        if own:
            campaigns.add_member(session=session, campaign=campaign, organisation=own[0], role="lead")
        else:
            accounts.add_membership(session=session, user=author, organisation=lead, role="member")
    return campaign


def _recipient(*, session: Session, organisation_id: int, entry: RecipientEntry) -> Recipient:
    """The lead organisation's directory entry with the same name and position (the closest match when there
    are several), or a new one: the directory keeps one "Home Secretary", however many letters name her."""
    found = session.exec(
        select(Recipient).where(Recipient.organisation_id == organisation_id)
        .where(func.lower(Recipient.name) == entry.name.casefold())
        .where(func.lower(Recipient.position) == entry.position.casefold())
        .order_by(col(Recipient.id))
    ).all()
    if found:
        return max(found, key=lambda r: ((r.email or "") == entry.email,
                                         r.recipient_organisation == entry.organisation,
                                         r.reply_target_days == entry.reply_target_days))
    return Recipient(organisation_id=organisation_id, name=entry.name, position=entry.position,
                     recipient_organisation=entry.organisation, email=entry.email or None,
                     reply_target_days=entry.reply_target_days,
                     very_overdue_days=2 * entry.reply_target_days)


def import_letter(
    *, session: Session, letter_file: LetterFile, author: User | None, campaign_slug: str | None = None,
) -> Letter:
    """Creates the letter (and its organisation and campaign when needed) from a parsed file."""
    lf = letter_file
    if lf.slug and letters.get_by_slug(session=session, slug=lf.slug) is not None:
        raise LetterFileError(f"A letter with the slug “{lf.slug}” already exists.", field="slug",
                              line=lf.line_of("slug"))
    campaign = _campaign(session=session, lf=lf, author=author, campaign_slug=campaign_slug)
    try:
        letter = letters.create(session=session, campaign=campaign, title=lf.title, slug=lf.slug or None)
        version = letters.save_version(
            session=session, letter=letter, author_id=author.id if author else None, check_base=False,
            text=letters.LetterText(salutation=lf.salutation, subject=lf.subject, body=lf.body,
                                    sign_off=lf.sign_off),
        )
        assert version is not None
        letters.set_recipients(session=session, letter=letter, recipients=[
            _recipient(session=session, organisation_id=campaign.lead_organisation_id, entry=r)
            for r in lf.recipients
        ])
        letters.set_quotes(session=session, letter=letter, quotes=[
            Quote(letter_id=letter.id, person=q.person, role=q.role,  # type: ignore[arg-type]
                  organisation=q.organisation, text=q.text)
            for q in lf.quotes
        ])
        if lf.press_contact is not None:
            letters.set_press_contact(session=session, letter=letter,
                                      contact=PressContact(letter_id=letter.id,  # type: ignore[arg-type]
                                                           **lf.press_contact.__dict__))
    except InvalidInput as exc:
        where = exc.field or "file"
        raise LetterFileError(exc.message, field=where, line=lf.line_of(where)) from None
    letters.set_tags(session=session, letter=letter, tags=lf.tags)
    letter.notes_to_editors = lf.notes_to_editors
    letter.embargo_at = lf.embargo.astimezone(UTC) if lf.embargo else None
    session.add(letter)
    now = utcnow()
    for order, s in enumerate(lf.signatories, start=1):
        session.add(Signature(
            letter_id=letter.id,  # type: ignore[arg-type]
            version_id=version.id,
            content_hash=version.content_hash,
            kind=SignatureKind(s.kind),
            display_name=s.name,
            name_key=fold(s.name),
            skeleton=skeleton(s.name),
            signer_name=s.signer_name,
            signer_role=s.signer_role,
            contact_email="",
            # No address is known for an imported signatory; the key only has to be unique per letter.
            email_key=f"imported-{order}@invalid",
            website=s.website or None,
            status=SignatureStatus.approved,
            via=SignatureVia.import_,
            display_order=order,
            confirmed_at=now,
            approved_at=now,
        ))
    session.flush()
    if lf.commitments:
        from backend.commitments import files as commitment_files

        commitment_files.store(session=session, letter=letter, entries=lf.commitments,
                               author_id=author.id if author else None)
    return letter


def load_examples(*, session: Session, directory: Path, author: User | None) -> int:
    """Imports every *.md in the folder whose letter is not there yet; returns how many were imported."""
    loaded = 0
    for path in sorted(Path(directory).glob("*.md")):
        lf = parse(path.read_text(encoding="utf-8"))
        lf.slug = lf.slug or accounts.slugify(path.stem)
        if letters.get_by_slug(session=session, slug=lf.slug) is not None:
            continue
        import_letter(session=session, letter_file=lf, author=author)
        loaded += 1
    return loaded


# The command line ------------------------------------------------------------------------------------

def notes_on_import(letter_file: LetterFile) -> list[str]:
    """Where importing a file differs from the web form, said on import rather than left to be found out."""
    notes = []
    if letter_file.embargo is not None and letter_file.embargo <= utcnow():
        notes.append(f"{letter_file.line_of('embargo')}: embargo: it is in the past. Kept as the record of the "
                     "letter (a file may describe a letter already published); the web form only takes a future "
                     "embargo, and the letter cannot be scheduled at this one: move it on the publish page.")
    return notes


def cli_import(args: argparse.Namespace) -> int:
    """`undersigned import FILE [--campaign SLUG]`: errors as `file:line: field: message`, exit status 2."""
    from backend.cli import _engine

    path = Path(args.file)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"{path}:1: file: cannot read it: {exc}", file=sys.stderr)
        return 2
    with Session(_engine()) as session:
        try:
            lf = parse(text)
            lf.slug = lf.slug or accounts.slugify(path.stem)
            letter = import_letter(session=session, letter_file=lf, author=None,
                                   campaign_slug=getattr(args, "campaign", None))
        except LetterFileError as exc:
            print(exc.located(str(path)), file=sys.stderr)
            return 2
        session.commit()
        for note in notes_on_import(lf):
            print(f"{path}:{note}", file=sys.stderr)
        print(f"Imported “{letter.title}” as {letter.slug}.")
    return 0


def cli_export(args: argparse.Namespace) -> int:
    """`undersigned export SLUG [-o FILE]`: the letter as a file, or on standard output."""
    from backend.cli import _engine

    with Session(_engine()) as session:
        letter = letters.get_by_slug(session=session, slug=args.slug)
        if letter is None:
            print(f"error: there is no letter with the slug “{args.slug}”.", file=sys.stderr)
            return 2
        try:
            text = export_letter(session=session, letter=letter)
        except InvalidInput as exc:
            print(f"error: {exc.message}", file=sys.stderr)
            return 2
    if getattr(args, "output", None):
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"Wrote {args.output}.", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0
