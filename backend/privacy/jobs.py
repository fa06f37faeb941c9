"""The daily retention job, run by the worker's scheduler."""

from __future__ import annotations

import time

from sqlalchemy import Engine

from backend.db import session_for_write
from backend.privacy import retention
from backend.worker import scheduled_job

RUN_EVERY_SECONDS = 24 * 60 * 60
_last_run: float | None = None


@scheduled_job("retention")
def purge_expired(engine: Engine) -> None:
    """Once a day per worker (first at start); the purge is idempotent, so several workers do no harm."""
    global _last_run
    if _last_run is not None and time.monotonic() - _last_run < RUN_EVERY_SECONDS:
        return
    _last_run = time.monotonic()
    with session_for_write(engine) as session:
        retention.purge_expired(session=session)
        session.commit()
