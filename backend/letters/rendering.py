"""The one rendering of a letter: the same template serves the preview, the signing page, the public page and
the PDF."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from jinja2 import Environment
from markupsafe import Markup
from sqlmodel import Session

from backend.clock import LONDON
from backend.db import as_utc, utcnow
from backend.letters import service as letters
from backend.letters.markdown import render_markdown
from backend.letters.models import Letter, LetterVersion
from backend.templating import current


class SignatoryLike(Protocol):
    """What the rendering needs from a signature (a Signature row, or anything shaped like one)."""

    display_name: str
    signer_name: str
    signer_role: str
    website: str | None

    @property
    def kind(self) -> str: ...  # read-only, so a Signature's SignatureKind fits


@dataclass(frozen=True)
class Signatory:
    name: str
    signer_name: str
    signer_role: str
    website: str | None
    confirmed_domain: str | None = None  # "cja.org.uk" when the confirming address was at the organisation's domain


def environment() -> Environment:
    """The process's one Jinja environment (backend/templating.py), independent of any request."""
    return current().env


def uk_date(value: date) -> str:
    """A date as a UK letter writes it: 23 November 2026."""
    return f"{value.day} {value:%B %Y}"


def letter_date(*, letter: Letter, on: date | None = None) -> date:
    """The date on the letter: when it was published, else the given day, else today in London."""
    published = as_utc(letter.published_at)
    if published is not None:
        return published.astimezone(LONDON).date()
    if on is not None:
        return on
    return utcnow().astimezone(LONDON).date()


def safe_website(url: str | None) -> str | None:
    """A signatory's website only when it is an http(s) address; anything else is not linked."""
    value = (url or "").strip()
    if value.lower().startswith(("https://", "http://")) and not any(c in value for c in "\"'<> \t\r\n"):
        return value
    return None


def split_signatories(signatures: Iterable[SignatoryLike] | None) -> tuple[list[Signatory], list[Signatory]]:
    """Organisations, then individuals, each in the order given."""
    organisations: list[Signatory] = []
    individuals: list[Signatory] = []
    for s in signatures or ():
        item = Signatory(
            name=s.display_name,
            signer_name="" if s.signer_name == s.display_name else (s.signer_name or ""),
            signer_role=s.signer_role or "",
            website=safe_website(s.website),
            confirmed_domain=getattr(s, "confirmed_domain", None),
        )
        (individuals if s.kind == "individual" else organisations).append(item)
    return organisations, individuals


def letter_context(
    *, session: Session, letter: Letter, version: LetterVersion,
    signatures: Iterable[SignatoryLike] | None = None, for_pdf: bool = False, on: date | None = None,
) -> dict[str, Any]:
    """Everything `letters/_letter.html` shows."""
    organisations, individuals = split_signatories(signatures)
    day = letter_date(letter=letter, on=on)
    return {
        "letter": letter,
        "version": version,
        "anchor": f"letter-{letter.id or 0}-v{version.number or 0}",
        "date_iso": day.isoformat(),
        "date_text": uk_date(day),
        "recipients": letters.get_recipients(session=session, letter_id=letter.id) if letter.id else [],
        "salutation": version.salutation,
        "subject": version.subject,
        "body_html": render_markdown(version.body),
        "sign_off": version.sign_off,
        "organisations": organisations,
        "individuals": individuals,
        "for_pdf": for_pdf,
    }


def render_letter(
    *, session: Session, letter: Letter, version: LetterVersion,
    signatures: Iterable[SignatoryLike] | None = None, for_pdf: bool = False, on: date | None = None,
) -> Markup:
    """The letter as an HTML fragment (an <article>), escaped and sanitised; put it in a page as it is."""
    ctx = letter_context(session=session, letter=letter, version=version, signatures=signatures,
                         for_pdf=for_pdf, on=on)
    html = environment().get_template("letters/_letter.html").render(ctx)
    return Markup(html)  # noqa: S704 - an autoescaping template whose only raw part went through nh3


def render_template(name: str, context: dict[str, Any]) -> str:
    """Renders another template (the PDF page) in the same environment."""
    return environment().get_template(name).render(context)

