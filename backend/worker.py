"""The background worker: the outbox sender and the scheduled jobs.

Runs inside `undersigned serve` on the embedded default (a thread), or as `undersigned worker` processes.
Scheduled jobs register themselves with `scheduled_job`; each must be safe to run again and safe to run
in several workers at once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from sqlalchemy import Engine

from backend.config import Settings, get_settings
from backend.mail import sender

log = logging.getLogger(__name__)

Job = Callable[[Engine], None]
_jobs: list[tuple[str, Job]] = []
_every: dict[str, float] = {}  # a job's least interval between runs in one process (0: every tick)
_last_run: dict[str, float] = {}  # when this process last ran each job (time.monotonic())
# Modules whose import registers scheduled jobs.
JOB_MODULES = ("backend.responses.jobs", "backend.publishing.jobs", "backend.commitments.jobs", "backend.privacy.jobs")


def load_jobs() -> None:
    import importlib

    for name in JOB_MODULES:
        importlib.import_module(name)


def scheduled_job(name: str, *, every_seconds: float = 0.0) -> Callable[[Job], Job]:
    """Registers a job for the worker's ticks (every few seconds), run at most once every `every_seconds` in
    one process, the first time at the first tick. A job must be safe to run again and in several workers."""

    def register(func: Job) -> Job:
        _jobs.append((name, func))
        _every[name] = every_seconds
        return func

    return register


def _due(name: str, now: float) -> bool:
    """Whether the job's interval has passed in this process; if so, it counts as run now."""
    last = _last_run.get(name)
    if last is not None and now - last < _every.get(name, 0.0):
        return False
    _last_run[name] = now
    return True


def run_once(engine: Engine, settings: Settings | None = None) -> None:
    """One tick: scheduled jobs, then drain the outbox."""
    settings = settings or get_settings()
    load_jobs()
    for name, job in list(_jobs):
        if not _due(name, time.monotonic()):
            continue
        try:
            job(engine)
        except Exception:
            log.exception("scheduled job %s failed", name)
    try:
        sender.drain(engine=engine, settings=settings)
    except Exception:
        log.exception("outbox drain failed")


def run_forever(engine: Engine, stop: threading.Event, settings: Settings | None = None) -> None:
    settings = settings or get_settings()
    while not stop.is_set():
        run_once(engine, settings)
        stop.wait(settings.outbox_poll_seconds)


def start_thread(engine: Engine, settings: Settings | None = None) -> tuple[threading.Thread, threading.Event]:
    stop = threading.Event()
    thread = threading.Thread(target=run_forever, args=(engine, stop, settings), name="undersigned-worker",
                              daemon=True)
    thread.start()
    return thread, stop
