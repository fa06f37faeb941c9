"""The `commitments` key of a letter file (docs/letter-format.md): commitments made in public documents, with
their numbers and evidence, read, written in the canonical form, imported and exported.

Commitments from recorded responses are not written: responses are not part of the letter file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import yaml
from sqlmodel import Session

from backend.commitments.enums import Direction, Unit
from backend.commitments.models import CommitmentMeasure, PublicDocument
from backend.commitments.service import get_tracked, plain_number, read_measure
from backend.letters.fileyaml import Reader as _Reader
from backend.letters.fileyaml import scalar as _scalar
from backend.letters.models import Letter
from backend.responses.enums import CommitmentStatus
from backend.responses.models import COMMITMENT_STATUSES, Commitment, CommitmentEvidence

COMMITMENT_KEYS = ("text", "source", "status", "due_on", "metric", "unit", "unit_label", "direction", "baseline",
                   "target", "evidence")
SOURCE_KEYS = ("title", "publisher", "date", "url")
BASELINE_KEYS = ("value", "date", "source")
TARGET_KEYS = ("value", "date")
EVIDENCE_KEYS = ("date", "value", "link", "note", "status")
NUMBER_TAGS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")


@dataclass
class SourceEntry:
    title: str
    publisher: str
    date: date
    url: str


@dataclass
class EvidenceEntry:
    date: date
    value: float | None = None
    link: str = ""
    note: str = ""
    status: str = ""  # the status the commitment moved to with this update, if it did


@dataclass
class CommitmentEntry:
    text: str
    source: SourceEntry
    status: str = "open"
    due_on: date | None = None
    metric: str = ""
    unit: str = ""
    unit_label: str = ""
    direction: str = ""
    baseline_value: float | None = None
    baseline_date: date | None = None
    baseline_source: str = ""
    target_value: float | None = None
    target_date: date | None = None
    evidence: list[EvidenceEntry] = field(default_factory=list)


# Reading ---------------------------------------------------------------------------------------------------------

def _day(reader: _Reader, node: yaml.Node, where: str) -> date:
    value = reader.text(node, where, required=True)
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise reader.fail(node, where, f"“{value}” is not a date like 2025-04-01.") from None


def _number(reader: _Reader, node: yaml.Node, where: str) -> float:
    value = reader.text(node, where, required=True)
    if node.tag not in NUMBER_TAGS or getattr(node, "style", None) is not None:
        raise reader.fail(node, where, "Expected a number, like 40 or 17.5 (no unit, no quotes).")
    try:
        number = float(value.replace("_", ""))
    except ValueError:
        raise reader.fail(node, where, "Expected a number, like 40 or 17.5.") from None
    if plain_number(number) != value:
        raise reader.fail(node, where, f"Write the number as {plain_number(number)}.")
    return number


def _url(reader: _Reader, node: yaml.Node, where: str, *, required: bool = False) -> str:
    value = reader.text(node, where, max_length=1000, required=required)
    if value and (not value.startswith(("https://", "http://")) or any(c.isspace() for c in value)):
        raise reader.fail(node, where, "A link must be an address starting with https:// or http://.")
    return value


def parse(reader: _Reader, node: yaml.Node) -> list[CommitmentEntry]:
    out = []
    for index, item in enumerate(reader.sequence(node, "commitments"), start=1):
        where = f"commitments[{index}]"
        values = reader.mapping(item, where, COMMITMENT_KEYS)
        for key in ("text", "source"):
            if key not in values:
                raise reader.fail(item, f"{where}.{key}", "Each commitment needs its text and its source.")
        src_node = values["source"][0]
        src = reader.mapping(src_node, f"{where}.source", SOURCE_KEYS)
        for key in SOURCE_KEYS:
            if key not in src:
                raise reader.fail(src_node, f"{where}.source.{key}",
                                  "The source needs a title, a publisher, a date and a url.")
        entry = CommitmentEntry(
            text=reader.text(values["text"][0], f"{where}.text", max_length=2000, required=True),
            source=SourceEntry(
                title=reader.text(src["title"][0], f"{where}.source.title", max_length=300, required=True),
                publisher=reader.text(src["publisher"][0], f"{where}.source.publisher", max_length=200,
                                      required=True),
                date=_day(reader, src["date"][0], f"{where}.source.date"),
                url=_url(reader, src["url"][0], f"{where}.source.url", required=True)))
        if "status" in values:
            entry.status = reader.text(values["status"][0], f"{where}.status")
            if entry.status not in COMMITMENT_STATUSES:
                raise reader.fail(values["status"][0], f"{where}.status",
                                  f"The status is one of {', '.join(COMMITMENT_STATUSES)}.")
        if "due_on" in values:
            entry.due_on = _day(reader, values["due_on"][0], f"{where}.due_on")
        for key, limit in (("metric", 300), ("unit", 10), ("unit_label", 40), ("direction", 4)):
            if key in values:
                setattr(entry, key, reader.text(values[key][0], f"{where}.{key}", max_length=limit))
        if "baseline" in values:
            b = reader.mapping(values["baseline"][0], f"{where}.baseline", BASELINE_KEYS)
            if "value" in b:
                entry.baseline_value = _number(reader, b["value"][0], f"{where}.baseline.value")
            if "date" in b:
                entry.baseline_date = _day(reader, b["date"][0], f"{where}.baseline.date")
            if "source" in b:
                entry.baseline_source = _url(reader, b["source"][0], f"{where}.baseline.source")
        if "target" in values:
            t = reader.mapping(values["target"][0], f"{where}.target", TARGET_KEYS)
            if "value" in t:
                entry.target_value = _number(reader, t["value"][0], f"{where}.target.value")
            if "date" in t:
                entry.target_date = _day(reader, t["date"][0], f"{where}.target.date")
        if entry.metric:
            errors: dict[str, str] = {}
            read_measure(_measure_values(entry), errors)
            if errors:
                key, message = next(iter(errors.items()))
                name = {"baseline_value": "baseline", "baseline_on": "baseline", "baseline_url": "baseline",
                        "target_value": "target", "target_on": "target"}.get(key, key)
                node_for = values[name][0] if name in values else item
                raise reader.fail(node_for, f"{where}.{name}", message)
        elif any(k in values for k in ("unit", "unit_label", "direction", "baseline", "target")):
            raise reader.fail(item, f"{where}.metric", "Numbers need a metric: say what is counted.")
        if "evidence" in values:
            for n, ev in enumerate(reader.sequence(values["evidence"][0], f"{where}.evidence"), start=1):
                at = f"{where}.evidence[{n}]"
                e = reader.mapping(ev, at, EVIDENCE_KEYS)
                if "date" not in e:
                    raise reader.fail(ev, f"{at}.date", "Each evidence update needs its date.")
                update = EvidenceEntry(date=_day(reader, e["date"][0], f"{at}.date"))
                if "value" in e:
                    if not entry.metric:
                        raise reader.fail(e["value"][0], f"{at}.value", "A figure needs the commitment's metric.")
                    update.value = _number(reader, e["value"][0], f"{at}.value")
                if "link" in e:
                    update.link = _url(reader, e["link"][0], f"{at}.link")
                if "note" in e:
                    update.note = reader.text(e["note"][0], f"{at}.note", max_length=2000)
                if "status" in e:
                    update.status = reader.text(e["status"][0], f"{at}.status")
                    if update.status not in COMMITMENT_STATUSES:
                        raise reader.fail(e["status"][0], f"{at}.status",
                                          f"The status is one of {', '.join(COMMITMENT_STATUSES)}.")
                entry.evidence.append(update)
        out.append(entry)
    return out


def _measure_values(entry: CommitmentEntry) -> dict[str, str]:
    def num(v: float | None) -> str:
        return plain_number(v) if v is not None else ""

    return {"metric": entry.metric, "unit": entry.unit, "unit_label": entry.unit_label,
            "direction": entry.direction, "baseline_value": num(entry.baseline_value),
            "baseline_on": entry.baseline_date.isoformat() if entry.baseline_date else "",
            "baseline_url": entry.baseline_source, "target_value": num(entry.target_value),
            "target_on": entry.target_date.isoformat() if entry.target_date else ""}


# Writing ---------------------------------------------------------------------------------------------------------

def dump_lines(entries: list[CommitmentEntry]) -> list[str]:
    """The `commitments:` block in the canonical form (dates and numbers written plainly)."""
    if not entries:
        return []
    out = ["commitments:"]
    for c in entries:
        out.append(f"  - text: {_scalar(c.text, 6)}")
        out.append("    source:")
        out.append(f"      title: {_scalar(c.source.title, 8)}")
        out.append(f"      publisher: {_scalar(c.source.publisher, 8)}")
        out.append(f"      date: {c.source.date.isoformat()}")
        out.append(f"      url: {_scalar(c.source.url, 8)}")
        out.append(f"    status: {c.status}")
        if c.due_on:
            out.append(f"    due_on: {c.due_on.isoformat()}")
        if c.metric:
            out.append(f"    metric: {_scalar(c.metric, 6)}")
            out.append(f"    unit: {c.unit}")
            if c.unit_label:
                out.append(f"    unit_label: {_scalar(c.unit_label, 6)}")
            out.append(f"    direction: {c.direction}")
            if c.baseline_value is not None:
                out.append("    baseline:")
                out.append(f"      value: {plain_number(c.baseline_value)}")
                if c.baseline_date:
                    out.append(f"      date: {c.baseline_date.isoformat()}")
                if c.baseline_source:
                    out.append(f"      source: {_scalar(c.baseline_source, 8)}")
            if c.target_value is not None and c.target_date is not None:
                out.append("    target:")
                out.append(f"      value: {plain_number(c.target_value)}")
                out.append(f"      date: {c.target_date.isoformat()}")
        if c.evidence:
            out.append("    evidence:")
            for e in c.evidence:
                out.append(f"      - date: {e.date.isoformat()}")
                if e.value is not None:
                    out.append(f"        value: {plain_number(e.value)}")
                if e.link:
                    out.append(f"        link: {_scalar(e.link, 10)}")
                if e.note:
                    out.append(f"        note: {_scalar(e.note, 10)}")
                if e.status:
                    out.append(f"        status: {e.status}")
    return out


# Export and import ---------------------------------------------------------------------------------------------------

def read(*, session: Session, letter: Letter) -> list[CommitmentEntry]:
    """The letter's commitments from public documents, as file entries."""
    out = []
    for t in get_tracked(session=session, letter=letter, charts=False):
        if t.document is None:
            continue
        d, m, c = t.document, t.measure, t.commitment
        entry = CommitmentEntry(text=c.text, source=SourceEntry(d.title, d.publisher, d.published_on, d.url),
                                status=c.status, due_on=c.due_on,
                                evidence=[EvidenceEntry(e.noted_on, e.value, e.link or "", e.note, e.status_to or "")
                                          for e in t.evidence])
        if m is not None:
            entry.metric, entry.unit, entry.unit_label, entry.direction = m.metric, m.unit, m.unit_label, m.direction
            entry.baseline_value, entry.baseline_date = m.baseline_value, m.baseline_on
            entry.baseline_source = m.baseline_url or ""
            entry.target_value, entry.target_date = m.target_value, m.target_on
        out.append(entry)
    return out


def store(*, session: Session, letter: Letter, entries: list[CommitmentEntry], author_id: int | None) -> None:
    """Creates the documents (one per distinct source), commitments, numbers and evidence of imported entries."""
    documents: dict[tuple[str, str, date, str], PublicDocument] = {}
    for position, entry in enumerate(entries):
        s = entry.source
        key = (s.title, s.publisher, s.date, s.url)
        if key not in documents:
            documents[key] = PublicDocument(letter_id=letter.id, title=s.title,  # type: ignore[arg-type]
                                            publisher=s.publisher, published_on=s.date, url=s.url,
                                            created_by_id=author_id)
            session.add(documents[key])
            session.flush()
        commitment = Commitment(document_id=documents[key].id, text=entry.text, due_on=entry.due_on,
                                status=CommitmentStatus(entry.status), position=position)
        session.add(commitment)
        session.flush()
        if entry.metric and entry.target_value is not None and entry.target_date is not None:
            session.add(CommitmentMeasure(
                commitment_id=commitment.id,  # type: ignore[arg-type]
                metric=entry.metric, unit=Unit(entry.unit), unit_label=entry.unit_label,
                direction=Direction(entry.direction),
                baseline_value=entry.baseline_value, baseline_on=entry.baseline_date,
                baseline_url=entry.baseline_source or None, target_value=entry.target_value,
                target_on=entry.target_date))
        status = "open"
        for e in entry.evidence:
            moved = bool(e.status) and e.status != status
            session.add(CommitmentEvidence(
                commitment_id=commitment.id,  # type: ignore[arg-type]
                noted_on=e.date, value=e.value, link=e.link or None, note=e.note,
                status_from=CommitmentStatus(status) if e.status else None,
                status_to=CommitmentStatus(e.status) if e.status else None, created_by_id=author_id))
            if moved:
                status = e.status
    session.flush()

