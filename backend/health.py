"""`/healthz` (the process answers) and `/readyz` (it can do its work: the database answers, its schema is the
one the code needs, and how long the oldest due outbox row has waited), for a proxy or a monitor."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import func, text
from sqlmodel import Session, col, select

from backend.db import as_utc, utcnow
from backend.mail.models import OutboundEmail
from backend.migrations import current, heads

router = APIRouter()
NO_STORE = {"Cache-Control": "no-store"}


@lru_cache
def _heads(database_url: str) -> frozenset[str]:
    return frozenset(heads(database_url))


@router.get("/healthz", name="healthz", include_in_schema=False)
async def healthz() -> JSONResponse:
    """Alive: answers without touching the database."""
    return JSONResponse({"status": "ok"}, headers=NO_STORE)


def _readiness(engine: Any, database_url: str) -> tuple[int, dict[str, Any]]:
    report: dict[str, Any] = {"database": "unreachable", "schema": "unknown", "oldest_due_outbox_seconds": None}
    try:
        with Session(engine) as session:
            session.exec(text("SELECT 1"))  # type: ignore[call-overload]
            report["database"] = "ok"
            oldest = session.exec(select(func.min(OutboundEmail.next_attempt_at))
                                  .where(col(OutboundEmail.status) == "queued")
                                  .where(col(OutboundEmail.next_attempt_at) <= utcnow())).one()
        due = as_utc(oldest)
        report["oldest_due_outbox_seconds"] = round((utcnow() - due).total_seconds(), 1) if due else 0.0
        have, want = current(engine), _heads(database_url)
        report["schema"] = "current" if have == want else f"behind: at {sorted(have)}, the code needs {sorted(want)}"
    except Exception as exc:  # the database is down or refuses us: not ready, and say why
        report["error"] = f"{type(exc).__name__}: {exc}"[:300]
        return 503, report
    return (200 if report["schema"] == "current" else 503), report


@router.get("/readyz", name="readyz", include_in_schema=False)
def readyz(request: Request) -> JSONResponse:
    """Ready: 200 when the database answers and its schema is current; 503 (with the reason) otherwise."""
    status, report = _readiness(request.app.state.engine, request.app.state.settings.database_url)
    report["status"] = "ok" if status == 200 else "not ready"
    return JSONResponse(report, status_code=status, headers=NO_STORE)
