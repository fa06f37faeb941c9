"""Scheduled jobs of reply tracking, run by the worker."""

from __future__ import annotations

import time

from sqlalchemy import Engine

from backend.db import session_for_write
from backend.responses import service
from backend.worker import scheduled_job

CHECK_EVERY_SECONDS = 15 * 60
_last_run = 0.0


@scheduled_job("overdue replies")
def overdue_replies(engine: Engine) -> None:
    """Alerts leads of overdue replies. The job is safe to rerun, so a quarter-hourly check does for "daily"."""
    global _last_run
    if time.monotonic() - _last_run < CHECK_EVERY_SECONDS:
        return
    _last_run = time.monotonic()
    with session_for_write(engine) as session:
        service.check_overdue(session=session)
        session.commit()
