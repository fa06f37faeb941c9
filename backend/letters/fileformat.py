"""Letter files' content: the entries a file holds, parsed from its text and written in the canonical form.

The format is documented in docs/letter-format.md. Parsing walks the composed YAML node tree (not the
constructed objects) so every error can name its line, and so dates and numbers stay the strings they were;
writing goes through python-frontmatter and a `yaml.SafeDumper` with a representer for each entry
(backend/letters/fileyaml.py holds the YAML layer).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import yaml

from backend.accounts.service import normalise_email, slugify
from backend.clock import LONDON
from backend.commitments import files as commitment_files
from backend.errors import InvalidInput
from backend.letters import service as letters
from backend.letters.fileyaml import (
    NULL,
    STR,
    CanonicalDumper,
    LetterFileError,
    LetterFileErrors,
    Reader,
    dumps,
    split,
    string_style,
)
from backend.signatures.models import SIGNATURE_KINDS
from backend.text import describe, fold, hidden_characters

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
MAP = "tag:yaml.org,2002:map"


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

def _check_url(reader: Reader, node: yaml.Node, where: str, value: str) -> str:
    if value and (not value.startswith(("https://", "http://")) or any(c.isspace() for c in value)):
        raise reader.fail(node, where, "A website must be an address starting with https:// or http://.")
    return value


def _check_email(reader: Reader, node: yaml.Node, where: str, value: str) -> str:
    if not value:
        return value
    try:
        normalised = normalise_email(value)
    except InvalidInput as exc:
        raise reader.fail(node, where, exc.message) from None
    if normalised != value:
        raise reader.fail(node, where, f"Write the address in lower case, without spaces: {normalised}")
    return value


def _recipients(reader: Reader, node: yaml.Node) -> list[RecipientEntry]:
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


def _quotes(reader: Reader, node: yaml.Node) -> list[QuoteEntry]:
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


def _press_contact(reader: Reader, node: yaml.Node) -> PressContactEntry | None:
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


def _signatories(reader: Reader, node: yaml.Node) -> list[SignatoryEntry]:
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


def _embargo(reader: Reader, node: yaml.Node) -> datetime | None:
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
    front, body, body_line = split(text)
    hidden = hidden_characters(body, multiline=True)
    if hidden:
        line = body_line + body[:body.index(hidden[0])].count("\n")
        raise LetterFileError(f"The body holds invisible or control characters ({describe(hidden[0])}): remove them.",
                              field="body", line=line)
    reader = Reader(offset=1)
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
    if result.slug and slugify(result.slug) != result.slug:
        suggestion = slugify(result.slug)
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


# Writing ---------------------------------------------------------------------------------------------

class LetterDumper(CanonicalDumper):
    """The canonical dumper, with a representer for each entry of a letter file (registered below)."""


def _pairs(entry: Any, keys: tuple[str, ...], *, always: tuple[str, ...] = ()) -> list[tuple[str, Any]]:
    """The entry's keys in the canonical order, leaving out the empty ones that may be left out."""
    out = []
    for key in keys:
        value = getattr(entry, key)
        if key in always or (value not in ("", None)):
            out.append((key, value))
    return out


def _entries(keys: tuple[str, ...], always: tuple[str, ...]) -> Any:
    def represent(dumper: yaml.SafeDumper, entry: Any) -> yaml.MappingNode:
        return dumper.represent_mapping(MAP, _pairs(entry, keys, always=always))

    return represent


def _represent_signatory(dumper: yaml.SafeDumper, entry: SignatoryEntry) -> yaml.MappingNode:
    # The signer's name is left out when it is the signatory's own (an individual signing as themselves).
    written = SignatoryEntry(name=entry.name, signer_name="" if entry.signer_name == entry.name else
                             entry.signer_name, kind=entry.kind, signer_role=entry.signer_role, website=entry.website)
    return dumper.represent_mapping(MAP, _pairs(written, SIGNATORY_KEYS, always=("name", "kind")))


def _represent_moment(dumper: yaml.SafeDumper, moment: datetime) -> yaml.ScalarNode:
    """An embargo in London time with its offset, as a string (a YAML timestamp would lose the offset)."""
    text = moment.astimezone(LONDON).isoformat()
    return dumper.represent_scalar(STR, text, style=string_style(text))


LetterDumper.add_representer(RecipientEntry, _entries(RECIPIENT_KEYS, ("name", "reply_target_days")))
LetterDumper.add_representer(QuoteEntry, _entries(QUOTE_KEYS, ("person", "text")))
LetterDumper.add_representer(PressContactEntry, _entries(PRESS_KEYS, ("name",)))
LetterDumper.add_representer(SignatoryEntry, _represent_signatory)
LetterDumper.add_representer(datetime, _represent_moment)


def dump(letter_file: LetterFile) -> str:
    """A LetterFile in the canonical text form (the one export writes and the examples use)."""
    lf = letter_file
    values: dict[str, Any] = {
        "title": lf.title, "slug": lf.slug, "campaign": lf.campaign, "lead_organisation": lf.lead_organisation,
        "recipients": lf.recipients, "salutation": lf.salutation, "subject": lf.subject, "sign_off": lf.sign_off,
        "quotes": lf.quotes, "press_contact": lf.press_contact, "notes_to_editors": lf.notes_to_editors,
        "tags": lf.tags, "embargo": lf.embargo, "signatories": lf.signatories,
    }
    front = {key: value for key, value in values.items() if value not in ("", None, [])}
    return dumps(front, lf.body.strip("\n") + "\n", dumper=LetterDumper,
                 extra_lines=commitment_files.dump_lines(lf.commitments))
