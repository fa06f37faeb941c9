"""Shared helpers for the account tests."""

from __future__ import annotations

from typing import Any


def link_in(mail: Any, path: str) -> str:
    """The link in an email whose path starts with `path` (e.g. "/verify/")."""
    found = [link for link in mail.links() if path in link]
    assert found, f"no {path} link in: {mail.text}"
    return found[0].removeprefix("http://testserver")


def audit_actions(db: Any) -> list[str]:
    from sqlmodel import col, select

    from backend.audit.models import AuditEvent

    db.rollback()  # a new transaction sees what the app committed
    db.expire_all()
    return list(db.exec(select(AuditEvent.action).order_by(col(AuditEvent.id))))
