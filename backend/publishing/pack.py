"""The press pack: letter and press release as PDF and DOCX, the signatory CSV, logos, an index, one ZIP.

The files are made here; `backend.publishing.documents` builds them in the worker, once per public revision.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from sqlmodel import Session

from backend.config import Settings
from backend.db import as_utc
from backend.letters.markdown import render_markdown
from backend.letters.models import Letter
from backend.letters.rendering import letter_date, render_letter, render_template, split_signatories, uk_date
from backend.publishing import service
from backend.signatures import csvio, identity, logos
from backend.templating import current, for_settings
from backend.text import xml_safe

PACK_FILES = {
    "letter.pdf": "application/pdf",
    "letter.docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "press-release.pdf": "application/pdf",
    "press-release.docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "signatories.csv": "text/csv; charset=utf-8",
    "commitments.csv": "text/csv; charset=utf-8",  # issue 19: measured commitments
    "README.txt": "text/plain; charset=utf-8",
}
ZIP_NAME = "press-pack.zip"
CSV_HEADER = ["order", "kind", "name", "signer", "role", "website", "city", "confirmation"]
LOGO_NAME_RE = re.compile(r"^[0-9]{3}-[a-z0-9-]{1,60}\.png$")


# Markdown/HTML to paragraphs (for DOCX and the press release's opening) --------------------------------

class _Blocks(HTMLParser):
    BLOCKS = {"p", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "tr"}

    def __init__(self) -> None:
        super().__init__()
        self.blocks: list[tuple[str, str]] = []
        self._tag: list[str] = []
        self._text: list[str] = []

    def _flush(self) -> None:
        text = " ".join("".join(self._text).split())
        if text:
            self.blocks.append((self._tag[-1] if self._tag else "p", text))
        self._text = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.BLOCKS:
            self._flush()
            self._tag.append(tag)
        elif tag == "br":
            self._text.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.BLOCKS:
            self._flush()
            if self._tag:
                self._tag.pop()

    def handle_data(self, data: str) -> None:
        self._text.append(data)


def markdown_blocks(text: str) -> list[tuple[str, str]]:
    """(tag, plain text) for each block of a Markdown text, through the same safe renderer as the page."""
    parser = _Blocks()
    parser.feed(str(render_markdown(text or "")))
    parser.close()
    parser._flush()
    return parser.blocks


# Shared context ------------------------------------------------------------------------------------------

@dataclass
class PackContext:
    view: service.PublicView
    embargoed: bool
    embargo_line: str
    date_text: str
    organisations: list[Any]
    individuals: list[Any]
    opening: str
    body_blocks: list[tuple[str, str]]
    notes_blocks: list[tuple[str, str]]


def _names(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def context(*, session: Session, letter: Letter, embargoed: bool) -> PackContext:
    """What every file of the pack shows."""
    view = service.public_view(session=session, letter=letter)
    organisations, individuals = split_signatories(view.signatures)
    date_text = uk_date(letter_date(letter=letter, on=_embargo_day(letter)))
    counts = []
    if organisations:
        counts.append(f"{len(organisations)} organisation{'s' if len(organisations) != 1 else ''}")
    if individuals:
        counts.append(f"{len(individuals)} individual{'s' if len(individuals) != 1 else ''}")
    to = _names([r.name + (f", {r.position}" if r.position else "") for r in view.recipients]) or "decision makers"
    who = " and ".join(counts) or "A coalition of organisations"
    first = [t for tag, t in markdown_blocks(view.version.body) if tag == "p"][:1]
    lead_names = _names([o.name for o in organisations[:3]])
    opening = (f"{who} {'have' if counts else 'has'} signed an open letter to {to}"
               + (f", among them {lead_names}" if lead_names else "") + f": “{view.version.subject}”. "
               + (first[0] if first else ""))
    return PackContext(
        view=view, embargoed=embargoed, embargo_line=service.embargo_line(letter=letter, embargoed=embargoed),
        date_text=date_text, organisations=organisations, individuals=individuals, opening=opening.strip(),
        body_blocks=markdown_blocks(view.version.body), notes_blocks=markdown_blocks(letter.notes_to_editors),
    )


def _embargo_day(letter: Letter) -> Any:
    at = as_utc(letter.embargo_at)
    published = as_utc(letter.published_at)
    if at is not None and published is not None and published < at:  # published early: the day it happened
        at = published
    return at.astimezone(service.LONDON).date() if at else None


# The files -----------------------------------------------------------------------------------------------

def letter_pdf_html(*, session: Session, ctx: PackContext) -> str:
    """The HTML the letter PDF is made from: the one letter template, with the embargo line while embargoed."""
    view = ctx.view
    body = render_letter(session=session, letter=view.letter, version=view.version, signatures=view.signatures,
                         for_pdf=True, on=_embargo_day(view.letter))
    return render_template("press/letter_pdf.html", {"letter": view.letter, "version": view.version,
                                                     "letter_html": body, "ctx": ctx})


def press_release_html(*, ctx: PackContext) -> str:
    return render_template("press/press_release_pdf.html", {"ctx": ctx, "view": ctx.view})


class _SafeDocument:
    """A python-docx Document whose every text passes `xml_safe` first: python-docx refuses a control
    character with an exception, and a name stored before the input rules must not break the press pack."""

    def __init__(self, document: Any) -> None:
        self.document = document

    def set_title(self, title: str) -> None:
        self.document.core_properties.title = xml_safe(title)[:255]

    def add_paragraph(self, text: str = "", style: str | None = None) -> _SafeParagraph:
        return _SafeParagraph(self.document.add_paragraph(xml_safe(text), style))

    def add_heading(self, text: str, level: int) -> Any:
        return self.document.add_heading(xml_safe(text), level=level)


class _SafeParagraph:
    def __init__(self, paragraph: Any) -> None:
        self.paragraph = paragraph

    def add_run(self, text: str) -> Any:
        return self.paragraph.add_run(xml_safe(text))


def _docx() -> _SafeDocument:
    from docx import Document  # deliberate: python-docx loads lxml, only when the worker builds a pack

    return _SafeDocument(Document())


def _docx_bytes(document: _SafeDocument) -> bytes:
    out = io.BytesIO()
    document.document.save(out)
    return out.getvalue()


def _add_blocks(document: _SafeDocument, blocks: list[tuple[str, str]]) -> None:
    for tag, text in blocks:
        if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            document.add_heading(text, level=min(int(tag[1]), 4))
        elif tag == "li":
            document.add_paragraph(text, style="List Bullet")
        elif tag == "blockquote":
            document.add_paragraph(text, style="Quote")
        else:
            document.add_paragraph(text)


def letter_docx(*, ctx: PackContext) -> bytes:
    """The letter as a Word document: date, recipients, salutation, subject, body, sign-off, signatories."""
    view = ctx.view
    document = _docx()
    document.set_title(view.letter.title)
    if ctx.embargoed:
        document.add_paragraph().add_run(ctx.embargo_line).bold = True
    document.add_paragraph(ctx.date_text)
    for r in view.recipients:
        document.add_paragraph("\n".join(x for x in (r.name, r.position, r.recipient_organisation) if x))
    document.add_paragraph(view.version.salutation)
    document.add_heading(view.version.subject, level=1)
    _add_blocks(document, ctx.body_blocks)
    document.add_paragraph(view.version.sign_off)
    if ctx.organisations or ctx.individuals:
        document.add_heading("Signed by", level=2)
    for group, items in (("Organisations", ctx.organisations), ("Individuals", ctx.individuals)):
        if items and ctx.organisations and ctx.individuals:
            document.add_heading(group, level=3)
        for s in items:
            signer = ", ".join(x for x in (s.signer_name, s.signer_role) if x)
            document.add_paragraph(s.name + (f" ({signer})" if signer else ""))
    return _docx_bytes(document)


def press_release_docx(*, ctx: PackContext) -> bytes:
    """The press release as a Word document."""
    view = ctx.view
    document = _docx()
    document.set_title(f"Press release: {view.letter.title}")
    document.add_paragraph().add_run("PRESS RELEASE").bold = True
    document.add_paragraph(ctx.date_text)
    document.add_paragraph().add_run(ctx.embargo_line).bold = True
    document.add_heading(view.letter.title, level=1)
    document.add_paragraph(ctx.opening)
    for q in view.quotes:
        who = ", ".join(x for x in (q.person, q.role, q.organisation) if x)
        document.add_paragraph(f"“{q.text}” said {who}.")
    if ctx.organisations or ctx.individuals:
        document.add_paragraph("Signed by: " + "; ".join(s.name for s in ctx.organisations + ctx.individuals) + ".")
    document.add_paragraph().add_run("ENDS").bold = True
    if ctx.notes_blocks:
        document.add_heading("Notes to editors", level=2)
        _add_blocks(document, ctx.notes_blocks)
    contact = view.press_contact
    if contact:
        document.add_heading("Press contact", level=2)
        for line in _contact_lines(contact):
            document.add_paragraph(line)
    return _docx_bytes(document)


def _contact_lines(contact: Any) -> list[str]:
    lines = [", ".join(x for x in (contact.name, contact.role, contact.organisation) if x)]
    if contact.email:
        lines.append(f"Email: {contact.email}")
    if contact.phone:
        lines.append(f"Phone: {contact.phone}")
    if contact.out_of_hours_phone:
        lines.append(f"Out of hours: {contact.out_of_hours_phone}")
    return lines


def signatories_csv(*, ctx: PackContext) -> str:
    """The listed signatories in order; no emails; every cell safe for spreadsheets."""
    rows = []
    for number, s in enumerate(ctx.view.signatures, start=1):
        rows.append([number, s.kind, s.display_name, s.signer_name, s.signer_role, s.website or "", s.city or "",
                     identity.confirmation_line(s)])
    return csvio.write(CSV_HEADER, rows)


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60]
    return slug or "logo"


def logo_files(*, ctx: PackContext, media_dir: str | Path) -> dict[str, Path]:
    """The logos of the listed organisations, numbered in signatory order."""
    found: dict[str, Path] = {}
    for number, s in enumerate(ctx.view.signatures, start=1):
        if not s.logo_path or not s.logo_path.startswith("logos/"):
            continue
        path = logos.path_for(s.logo_path.removeprefix("logos/"), media_dir=media_dir)
        if path is not None:
            found[f"{number:03d}-{_slug(s.display_name)}.png"] = path
    return found


def readme(*, ctx: PackContext, files: list[str], settings: Settings | None = None) -> str:
    """The short index of the pack (a .txt template: the one environment does not HTML-escape it)."""
    templating = for_settings(settings) if settings is not None else current()
    return templating.env.get_template("press/README.txt").render(
        {"ctx": ctx, "view": ctx.view, "files": files, "settings": templating.settings,
         "has_logos": any(name.startswith("logos/") for name in files)})


def media_type(name: str) -> str:
    if name == ZIP_NAME:
        return "application/zip"
    if name.startswith("logos/"):
        return "image/png"
    return PACK_FILES[name]
