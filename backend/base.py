"""Shared column helpers for table models: every table has `id`, `created_at`, `updated_at`; a state column is a
`StrEnum` stored as its string and guarded by a CHECK constraint (`enum_field`)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, Column, DateTime, Dialect, String, Table, event
from sqlalchemy.types import TypeDecorator
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


def enum_check(column: str, enum: type[StrEnum]) -> str:
    """The SQL of the CHECK that keeps `column` to the values of `enum` (NULL passes: nullability is apart)."""
    values = ", ".join("'" + member.value.replace("'", "''") + "'" for member in enum)
    return f"{column} IN ({values})"


class StrEnumType(TypeDecorator[StrEnum]):
    """A `StrEnum` stored as its value in a VARCHAR (no native database enum type) and read back as the member.

    The column it is given to gets a CHECK constraint `ck_<table>_<column>` listing the values once the column
    is attached to its table (see `enum_field`)."""

    impl = String
    cache_ok = True

    def __init__(self, enum: type[StrEnum], length: int) -> None:
        super().__init__(length)
        self.enum = enum
        self._members = {member.value: member for member in enum}  # read back without the enum's own lookup
        self._bound = False
        event.listen(self, "after_parent_attach", self._attached_to_column)

    def _attached_to_column(self, _type: Any, column: Column[Any]) -> None:
        # Only the model's own column: a copy of it (Table.to_metadata, as Alembic makes) gets the table's
        # constraint copied along with the table, under its full name.
        if self._bound:
            return
        self._bound = True
        event.listen(column, "after_parent_attach", self._attached_to_table)

    def _attached_to_table(self, column: Column[Any], table: Any) -> None:
        if not isinstance(table, Table):
            return
        name = f"ck_{table.name}_{column.name}"
        if any(c.name in (column.name, name) for c in table.constraints if isinstance(c, CheckConstraint)):
            return
        table.append_constraint(CheckConstraint(enum_check(column.name, self.enum), name=column.name))

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        # A member, or a plain string (the database's CHECK is the judge of what may be stored).
        return None if value is None else str(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> StrEnum | None:
        member = self._members.get(value)
        if member is not None or value is None:
            return member
        return self.enum(value)  # not a member: the enum's own error


def enum_field(enum: type[StrEnum], *, length: int, default: Any = ..., nullable: bool = False,
               index: bool = False) -> Any:
    """A column holding one of `enum`'s values, typed as the enum, with its CHECK constraint. `default` is a
    member (or None for a nullable column); leave it out for a column every row sets."""
    return Field(
        default=default,
        sa_type=StrEnumType(enum, length),  # type: ignore[call-overload]
        nullable=nullable,
        index=index,
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
