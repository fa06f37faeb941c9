"""Scheduled jobs of reply tracking, run by the worker."""

from __future__ import annotations

from sqlalchemy import Engine

from backend.config import Settings
from backend.db import session_for_write
from backend.responses import overdue
from backend.scheduler import scheduled_job


@scheduled_job("overdue replies", every_seconds=15 * 60)
def overdue_replies(engine: Engine, settings: Settings) -> None:
    """Alerts leads of overdue replies. The job is safe to rerun, so a quarter-hourly check does for "daily"."""
    with session_for_write(engine) as session:
        overdue.check_overdue(session=session)
        session.commit()
