"""Request-scoped dependencies shared by every domain's routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import FormData

from backend.config import Settings
from backend.security import FORM_FIELD_LIMIT
from backend.text import clean_text


async def settings_of(request: Request) -> Settings:
    """The settings the app was created with (`create_app(settings)`), never a second reading of the environment.

    Async because it does no I/O: FastAPI runs a plain `def` dependency in the thread pool, a hop per request."""
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(settings_of)]


async def read_form(request: Request) -> FormData:
    """The submitted form (already read and checked by the CSRF guard, so this is cached)."""
    return await request.form(max_part_size=FORM_FIELD_LIMIT)


FormDep = Annotated[FormData, Depends(read_form)]


def form_text(form: FormData, name: str) -> str:
    """A text field of an undeclared form, cleaned (a declared form: backend/forms.py)."""
    value = form.get(name)
    return clean_text(value) if isinstance(value, str) else ""
