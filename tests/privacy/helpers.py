"""Shared helpers for the privacy tests: a scan of every table for a value, a management link for a signature."""

from __future__ import annotations

from typing import Any


def tables_holding(engine: Any, *values: str) -> list[str]:
    """"table.column" of every text or binary column, in every table, holding one of these values (any case)."""
    from sqlalchemy import LargeBinary, String, Text, TypeDecorator, select
    from sqlmodel import SQLModel

    import backend.models  # noqa: F401

    needles = [v.lower() for v in values if v]
    found = []
    with engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            columns = [c for c in table.columns if isinstance(
                c.type.impl if isinstance(c.type, TypeDecorator) else c.type, String | Text | LargeBinary)]
            if not columns:
                continue
            for row in conn.execute(select(*columns)):
                for column, value in zip(columns, row, strict=True):
                    if value is None:
                        continue
                    text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
                    if any(n in text.lower() for n in needles):
                        found.append(f"{table.name}.{column.name}")
    return sorted(set(found))


def manage_token(db: Any, signature: Any) -> str:
    """A management link's token for a signature, as the receipt email carries."""
    from backend.signatures import tokens

    token = tokens.issue_token(session=db, signature_id=signature.id, purpose="manage", days=30)
    db.commit()
    return token
