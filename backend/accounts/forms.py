"""Form helpers: run each field's check and gather every message, so a form shows all its errors at once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Form
from pydantic import AfterValidator

from backend import text
from backend.errors import InvalidInput

# Generous caps on what is read from a form; the services apply the real limits with clear messages.
# Every typed value goes through `text` (controls and invisible format characters removed); passwords do not.
ShortText = Annotated[str, Form(max_length=2000), AfterValidator(lambda v: text.clean_text(v, multiline=False))]
LongText = Annotated[str, Form(max_length=50_000), AfterValidator(text.clean_text)]
Secret = Annotated[str, Form(max_length=2000)]


def errors_of(*checks: tuple[str, Callable[[], Any]]) -> dict[str, str]:
    """{field: message} for each check that raised InvalidInput."""
    errors: dict[str, str] = {}
    for field, check in checks:
        try:
            check()
        except InvalidInput as exc:
            errors.setdefault(exc.field or field, exc.message)
    return errors
