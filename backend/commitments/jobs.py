"""The daily reminders of measured commitments, run by the worker's scheduler."""

from __future__ import annotations

from sqlalchemy import Engine

from backend.commitments import service
from backend.config import Settings
from backend.db import session_for_write
from backend.scheduler import scheduled_job


@scheduled_job("commitment reminders", every_seconds=60 * 60)
def commitment_reminders(engine: Engine, settings: Settings) -> None:
    """Reminds leads of passed target dates and silent commitments; safe to rerun, so hourly does for daily."""
    with session_for_write(engine) as session:
        service.check_reminders(session=session, silence_months=settings.commitment_silence_months)
        session.commit()
