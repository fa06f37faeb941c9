"""Shared column helpers for table models: every table has `id`, `created_at`, `updated_at`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime
from sqlmodel import Field, SQLModel

from backend.db import utcnow


def datetime_field(*, nullable: bool = True, index: bool = False, **kwargs: Any) -> Any:
    """A timezone-aware datetime column (stored as UTC)."""
    return Field(
        default=None if nullable else kwargs.pop("default", None),
        sa_type=DateTime(timezone=True),  # type: ignore[call-overload]
        nullable=nullable,
        index=index,
        **kwargs,
    )


class TableBase(SQLModel):
    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(
        default_factory=utcnow,
        sa_type=DateTime(timezone=True),  # type: ignore[call-overload]
        nullable=False,
    )
    updated_at: datetime = Field(
        default_factory=utcnow,
        sa_type=DateTime(timezone=True),  # type: ignore[call-overload]
        nullable=False,
        sa_column_kwargs={"onupdate": utcnow},
    )
