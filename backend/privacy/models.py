"""What is kept about erasures themselves: no personal value, only that one happened (a public page shows how
many names were removed on request)."""

from __future__ import annotations

from sqlmodel import Field

from backend.base import TableBase, enum_field
from backend.privacy.enums import ErasureKind


class Erasure(TableBase, table=True):
    __tablename__ = "privacy_erasure"
    letter_id: int | None = Field(default=None, foreign_key="letter.id", index=True, ondelete="CASCADE")
    kind: ErasureKind = enum_field(ErasureKind, length=12)
    name_was_public: bool = Field(default=False)  # counted on the letter's public page
