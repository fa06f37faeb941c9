"""The daily retention job, run by the worker's scheduler."""

from __future__ import annotations

from sqlalchemy import Engine

from backend.config import Settings
from backend.db import session_for_write
from backend.privacy import retention
from backend.scheduler import scheduled_job


@scheduled_job("retention", every_seconds=24 * 60 * 60)
def purge_expired(engine: Engine, settings: Settings) -> None:
    """Once a day per worker (first at start); the purge is idempotent, so several workers do no harm."""
    with session_for_write(engine) as session:
        retention.purge_expired(session=session, settings=settings)
        session.commit()
