"""Reading the tracking forms: typed values kept as text (to show them again), parsed values for the services."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from starlette.datastructures import FormData

from backend.responses import replies, tracking
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


RESPONSE_FIELDS = ("received_on", "kind", "summary", "body", "source_url", "author_name", "author_position",
                   "author_organisation")


@dataclass
class ResponseForm:
    values: dict[str, str]
    is_public: bool
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def empty(cls) -> ResponseForm:
        return cls({name: "" for name in RESPONSE_FIELDS} | {"received_on": tracking.today().isoformat()}, True)

    @classmethod
    def of(cls, form: FormData) -> ResponseForm:
        values = {name: text(form, name) for name in RESPONSE_FIELDS}
        made = cls(values, form.get("is_public") == "yes")
        problem = date_error(values["received_on"], "the date received")
        if problem:
            made.errors["received_on"] = problem
        return made

    def data(self) -> replies.ResponseInput:
        v = self.values
        return replies.ResponseInput(received_on=parse_date(v["received_on"]), kind=v["kind"], summary=v["summary"],
                                     body=v["body"], source_url=v["source_url"], is_public=self.is_public,
                                     author_name=v["author_name"], author_position=v["author_position"],
                                     author_organisation=v["author_organisation"])


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
