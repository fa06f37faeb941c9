"""Request-scoped dependencies shared by every domain's routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from backend.config import Settings


def settings_of(request: Request) -> Settings:
    """The settings the app was created with (`create_app(settings)`), never a second reading of the environment."""
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(settings_of)]
