"""What is kept about erasures themselves: no personal value, only that one happened (a public page shows how
many names were removed on request)."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import CheckConstraint
from sqlmodel import Field

from backend.base import TableBase


class ErasureKind(StrEnum):
    signature = "signature"  # a signature and its personal data, before publication
    individual = "individual"  # a published individual's name and details
    signer = "signer"  # an organisation's signer details (the listing may stay)
    account = "account"  # an account closed
    subject = "subject"  # a site admin's erasure after a subject access search


class Erasure(TableBase, table=True):
    __tablename__ = "privacy_erasure"
    __table_args__ = (
        CheckConstraint("kind IN ('signature', 'individual', 'signer', 'account', 'subject')",
                        name="kind"),
    )
    letter_id: int | None = Field(default=None, foreign_key="letter.id", index=True, ondelete="CASCADE")
    kind: str = Field(max_length=12)
    name_was_public: bool = Field(default=False)  # counted on the letter's public page
