"""The letter form: what was typed, read from the request and filled from a saved letter."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from fastapi.exceptions import RequestValidationError
from pydantic import ConfigDict, Field, ValidationError
from sqlmodel import Session
from starlette.datastructures import FormData

from backend.clock import LONDON
from backend.db import as_utc
from backend.forms import MAX_FIELD, DeclaredForm
from backend.letters import service
from backend.letters.models import Letter, PressContact, Quote
from backend.letters.service import LetterDraft, LetterText, RecipientRow
from backend.security import FORM_FIELD_LIMIT
from backend.text import clean_text

BLANK_RECIPIENT_ROWS = 2
BLANK_QUOTE_ROWS = 1
MAX_ROWS = 60
PRESS_FIELDS = ("name", "role", "organisation", "email", "phone", "out_of_hours_phone")
_ROW = re.compile(r"^(new|quote)-(\d{1,3})-([a-z_]+)$")


class RecipientForm(DeclaredForm):
    """A recipient in the directory, as edited."""

    name: str = ""
    position: str = ""
    recipient_organisation: str = ""
    email: str = ""
    reply_target_days: str = ""
    very_overdue_days: str = ""


class RecipientCreateForm(RecipientForm):
    """A new recipient, and which of the user's organisations keeps it (an id)."""

    organisation: str = ""


class LetterFormInput(DeclaredForm):
    """The letter form as posted. Its numbered rows (`new-<n>-<field>` for recipients typed in, `quote-<n>-<field>`)
    are as many as were added, so they arrive as extra fields and LetterForm reads them by `_ROW`."""

    model_config = ConfigDict(str_max_length=MAX_FIELD, extra="allow", frozen=True)

    title: str = ""
    recipient_id: list[str] = []
    salutation: str = ""
    subject: str = ""
    # Read whole (up to the request's own field limit), so a text that is too long gets its message on the form.
    body: str = Field("", max_length=FORM_FIELD_LIMIT)
    sign_off: str = ""
    press_name: str = ""
    press_role: str = ""
    press_organisation: str = ""
    press_email: str = ""
    press_phone: str = ""
    press_out_of_hours_phone: str = ""
    notes_to_editors: str = Field("", max_length=FORM_FIELD_LIMIT)
    tags: str = ""
    embargo_date: str = ""
    embargo_time: str = ""
    base_version_id: str = ""
    action: str = ""

    @classmethod
    def from_form(cls, data: FormData) -> LetterFormInput:
        """The model from the form the CSRF guard already read with the app's part-size limit (FastAPI's own
        `Form()` reading stops at 1 MB a field, and a letter may be longer); too long a field is a 422."""
        values: dict[str, Any] = {}
        for key in {k for k, _ in data.multi_items()}:
            found = [v for v in data.getlist(key) if isinstance(v, str)]
            if key == "recipient_id":
                values[key] = found
            elif found:
                values[key] = found[0] if len(found) == 1 or key in cls.model_fields else found
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            raise RequestValidationError(exc.errors()) from None


@dataclass
class QuoteRow:
    person: str = ""
    role: str = ""
    organisation: str = ""
    text: str = ""
    order: str = ""

    def blank(self) -> bool:
        return not any((self.person.strip(), self.role.strip(), self.organisation.strip(), self.text.strip()))


@dataclass
class LetterForm:
    """Every field of the letter form as typed (strings), so a re-rendered form loses nothing."""

    title: str = ""
    recipient_ids: list[int] = field(default_factory=list)
    new_recipients: list[RecipientRow] = field(default_factory=list)
    salutation: str = ""
    subject: str = ""
    body: str = ""
    sign_off: str = "Yours sincerely,"
    quotes: list[QuoteRow] = field(default_factory=list)
    press: dict[str, str] = field(default_factory=lambda: dict.fromkeys(PRESS_FIELDS, ""))
    notes_to_editors: str = ""
    tags: str = ""
    embargo_date: str = ""
    embargo_time: str = ""
    base_version_id: int | None = None
    action: str = "save"

    @classmethod
    def from_input(cls, data: LetterFormInput) -> LetterForm:
        """The posted form as the page shows it; malformed rows and ids are ignored, never an error page."""
        ids: list[int] = []
        for raw in data.recipient_id:
            if raw.isdigit() and int(raw) not in ids:
                ids.append(int(raw))
        rows: dict[tuple[str, int], dict[str, str]] = {}
        for key, value in (data.model_extra or {}).items():
            match = _ROW.match(key)
            if match and isinstance(value, str) and int(match.group(2)) < MAX_ROWS:
                rows.setdefault((match.group(1), int(match.group(2))), {})[match.group(3)] = clean_text(value)
        new_recipients = [
            RecipientRow(name=r.get("name", ""), position=r.get("position", ""),
                         recipient_organisation=r.get("organisation", ""), email=r.get("email", ""))
            for (kind, _), r in sorted(rows.items()) if kind == "new"
        ]
        quotes = [
            QuoteRow(person=r.get("person", ""), role=r.get("role", ""), organisation=r.get("organisation", ""),
                     text=r.get("text", ""), order=r.get("order", ""))
            for (kind, _), r in sorted(rows.items()) if kind == "quote"
        ]
        base = data.base_version_id
        return cls(
            title=data.title, recipient_ids=ids,
            new_recipients=[r for r in new_recipients if any(
                (r.name.strip(), r.position.strip(), r.recipient_organisation.strip(), r.email.strip()))],
            salutation=data.salutation, subject=data.subject, body=data.body, sign_off=data.sign_off,
            quotes=[q for q in quotes if not q.blank()],
            press={name: getattr(data, f"press_{name}") for name in PRESS_FIELDS},
            notes_to_editors=data.notes_to_editors, tags=data.tags,
            embargo_date=data.embargo_date, embargo_time=data.embargo_time,
            base_version_id=int(base) if base.isdigit() else None,
            action=data.action or "save",
        )

    @classmethod
    def from_letter(cls, *, session: Session, letter: Letter) -> LetterForm:
        """The form filled from the saved letter and its current version."""
        version = service.current_version(session=session, letter=letter)
        pc = service.get_press_contact(session=session, letter_id=letter.id)  # type: ignore[arg-type]
        embargo = letter.embargo_at
        local = as_utc(embargo).astimezone(LONDON) if embargo else None  # type: ignore[union-attr]
        return cls(
            title=letter.title,
            recipient_ids=[r.id for r in service.get_recipients(session=session, letter_id=letter.id)  # type: ignore[arg-type,misc]
                           if r.id is not None],
            salutation=version.salutation if version else "",
            subject=version.subject if version else "",
            body=version.body if version else "",
            sign_off=version.sign_off if version else "Yours sincerely,",
            quotes=[QuoteRow(person=q.person, role=q.role, organisation=q.organisation, text=q.text,
                             order=str(i + 1))
                    for i, q in enumerate(service.get_quotes(session=session, letter_id=letter.id))],  # type: ignore[arg-type]
            press={name: (getattr(pc, name) or "") if pc else "" for name in PRESS_FIELDS},
            notes_to_editors=letter.notes_to_editors,
            tags=", ".join(service.get_tags(session=session, letter_id=letter.id)),  # type: ignore[arg-type]
            embargo_date=local.strftime("%Y-%m-%d") if local else "",
            embargo_time=local.strftime("%H:%M") if local else "",
            base_version_id=letter.current_version_id,
        )

    def text(self) -> LetterText:
        return LetterText(salutation=self.salutation, subject=self.subject, body=self.body, sign_off=self.sign_off)

    def to_draft(self) -> LetterDraft:
        """The typed values as a draft for the service (which checks them)."""
        def order_key(item: tuple[int, QuoteRow]) -> tuple[float, int]:
            index, q = item
            raw = q.order.strip()
            return (float(raw) if re.fullmatch(r"-?\d{1,6}(\.\d{1,3})?", raw) else 1e9, index)

        quotes = [Quote(letter_id=0, person=q.person, role=q.role, organisation=q.organisation, text=q.text)
                  for _, q in sorted(enumerate(self.quotes), key=order_key)]
        press = PressContact(letter_id=0, **{k: v.strip() for k, v in self.press.items()})  # type: ignore[arg-type]
        has_press = any(v.strip() for v in self.press.values())
        return LetterDraft(
            title=self.title,
            recipients=[RecipientRow(id=i) for i in self.recipient_ids] + list(self.new_recipients),
            text=self.text(),
            quotes=quotes,
            press_contact=press if has_press else None,
            notes_to_editors=self.notes_to_editors,
            tags=[t for t in self.tags.split(",") if t.strip()],
            embargo_date=self.embargo_date,
            embargo_time=self.embargo_time,
        )

    def display_recipient_rows(self) -> list[RecipientRow]:
        """The typed new-recipient rows, plus blank ones to type into."""
        return list(self.new_recipients) + [RecipientRow() for _ in range(BLANK_RECIPIENT_ROWS)]

    def display_quote_rows(self) -> list[QuoteRow]:
        return list(self.quotes) + [QuoteRow() for _ in range(BLANK_QUOTE_ROWS)]
