"""The tracking forms, declared (backend/forms.py): typed values kept as text to show them again, parsed for the
services. The send form's fields are named by recipient, so it is read row by row (`send_rows`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from pydantic import ConfigDict, Field
from starlette.datastructures import FormData

from backend.forms import DeclaredForm
from backend.responses import replies, tracking
from backend.responses.models import Response
from backend.text import clean_text


def text(form: FormData, name: str, limit: int = 200_000) -> str:
    value = form.get(name)
    return clean_text(value[:limit]) if isinstance(value, str) else ""


def parse_date(value: str) -> date | None:
    """A date typed as YYYY-MM-DD (what a date input sends); None when empty or not a date."""
    try:
        return date.fromisoformat(value.strip()) if value.strip() else None
    except ValueError:
        return None


def date_error(value: str, what: str) -> str | None:
    """A message when a non-empty date field does not hold a date."""
    if value.strip() and parse_date(value) is None:
        return f"Enter {what} as a real date, for example {date.today().year}-03-27."
    return None


class ResponseForm(DeclaredForm):
    """A response, recorded or edited: what the coalition types (the service applies the rules)."""

    received_on: str = ""
    kind: str = ""
    summary: str = ""
    body: str = Field("", max_length=200_000)
    source_url: str = ""
    author_name: str = ""
    author_position: str = ""
    author_organisation: str = ""
    is_public: str = ""  # the ticked box sends "yes"

    @classmethod
    def empty(cls) -> ResponseForm:
        return cls(received_on=tracking.today().isoformat(), is_public="yes")

    @classmethod
    def of_response(cls, response: Response) -> ResponseForm:
        """A recorded response, to edit."""
        return cls(received_on=response.received_on.isoformat(), kind=response.kind, summary=response.summary,
                   body=response.body, source_url=response.source_url or "", author_name=response.author_name,
                   author_position=response.author_position, author_organisation=response.author_organisation,
                   is_public="yes" if response.is_public else "")

    @property
    def public(self) -> bool:
        return self.is_public == "yes"

    def errors(self) -> dict[str, str]:
        """What the form alone can tell is wrong (a date that is not one)."""
        problem = date_error(self.received_on, "the date received")
        return {"received_on": problem} if problem else {}

    def data(self) -> replies.ResponseInput:
        return replies.ResponseInput(received_on=parse_date(self.received_on), kind=self.kind, summary=self.summary,
                                     body=self.body, source_url=self.source_url, is_public=self.public,
                                     author_name=self.author_name, author_position=self.author_position,
                                     author_organisation=self.author_organisation)

    def values(self) -> dict[str, Any]:
        return self.model_dump(exclude={"is_public"})


class ReplyStatusForm(DeclaredForm):
    """The reply status the coalition sets for one recipient."""

    reply_status: str = ""


class CommitmentForm(DeclaredForm):
    """A commitment added under a response (the page's other forms use other names, hence the prefix)."""

    model_config = ConfigDict(populate_by_name=True)

    text: str = Field("", alias="new-text")
    due_on: str = Field("", alias="new-due_on")


class HolidayForm(DeclaredForm):
    """A day added to a region's holiday table."""

    region: str = ""
    day: str = ""
    description: str = ""


class HolidayFillForm(DeclaredForm):
    """A region and year to fill from the `holidays` package."""

    region: str = ""
    year: str = ""


class HolidayDescriptionForm(DeclaredForm):
    """A holiday's new description."""

    description: str = ""


@dataclass
class SendRow:
    """One recipient on the send form: the typed choice and its problems."""

    letter_recipient_id: int
    channel: str
    sent_on: str
    proof: str


def send_rows(form: FormData, ids: list[int]) -> list[SendRow]:
    return [SendRow(i, text(form, f"channel-{i}", 20), text(form, f"sent_on-{i}", 20), text(form, f"proof-{i}", 2000))
            for i in ids]
