"""The registry of scheduled jobs: a domain's jobs module registers with `scheduled_job`, the worker runs them.

(Here, below the domains, so that a domain never imports the worker above it.)
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import Engine

from backend.config import Settings

Job = Callable[[Engine, Settings], None]  # run with the worker's engine and settings
jobs: list[tuple[str, Job]] = []
_every: dict[str, float] = {}  # a job's least interval between runs in one process (0: every tick)
_last_run: dict[str, float] = {}  # when this process last ran each job (time.monotonic())


def scheduled_job(name: str, *, every_seconds: float = 0.0) -> Callable[[Job], Job]:
    """Registers a job for the worker's ticks (every few seconds), run at most once every `every_seconds` in
    one process, the first time at the first tick. A job must be safe to run again and in several workers."""

    def register(func: Job) -> Job:
        jobs.append((name, func))
        _every[name] = every_seconds
        return func

    return register


def due(name: str, now: float | None = None) -> bool:
    """Whether the job's interval has passed in this process; if so, it counts as run now."""
    now = time.monotonic() if now is None else now
    last = _last_run.get(name)
    if last is not None and now - last < _every.get(name, 0.0):
        return False
    _last_run[name] = now
    return True
