"""Declared forms: each POSTed form is one Pydantic model, the one definition of its fields.

A route reads its form with the model (FastAPI's `Annotated[Model, Form()]`), so the fields are spelled once; the
services apply the rules and say what is wrong in the page. The caps here only bound what is read: a longer value
is refused before any work, as a 422.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from backend import text

MAX_FIELD = 5000


class DeclaredForm(BaseModel):
    """The base of every form: bounded, cleaned text; extra fields (the CSRF token, a file part) are read elsewhere
    (the app-wide CSRF check, `File()` parameters)."""

    model_config = ConfigDict(str_max_length=MAX_FIELD, extra="ignore", frozen=True)

    @field_validator("*", mode="after")
    @classmethod
    def _clean(cls, value: Any) -> Any:
        """Every text typed passes through the one cleaning function (backend/text.py)."""
        return text.clean_text(value) if isinstance(value, str) else value

    def values(self) -> dict[str, Any]:
        """What was typed, to show the form again with it."""
        return self.model_dump()
