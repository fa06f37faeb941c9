"""The daily reminders of measured commitments, run by the worker's scheduler."""

from __future__ import annotations

import time

from sqlalchemy import Engine

from backend.commitments import service
from backend.db import session_for_write
from backend.worker import scheduled_job

CHECK_EVERY_SECONDS = 60 * 60
_last_run = 0.0


@scheduled_job("commitment reminders")
def commitment_reminders(engine: Engine) -> None:
    """Reminds leads of passed target dates and silent commitments; safe to rerun, so hourly does for daily."""
    global _last_run
    if time.monotonic() - _last_run < CHECK_EVERY_SECONDS:
        return
    _last_run = time.monotonic()
    with session_for_write(engine) as session:
        service.check_reminders(session=session)
        session.commit()
