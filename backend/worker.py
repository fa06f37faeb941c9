"""The background worker: the outbox sender and the scheduled jobs.

Runs inside `undersigned serve` on the embedded default (a thread), or as `undersigned worker` processes.
Scheduled jobs register themselves with `scheduled_job`; each must be safe to run again and safe to run
in several workers at once.
"""

from __future__ import annotations

import importlib
import logging
import threading
import time

from sqlalchemy import Engine

from backend import scheduler
from backend.config import Settings
from backend.mail import sender

log = logging.getLogger(__name__)

# The registry lives in backend/scheduler.py (below the domains that register jobs); these names stay for the
# jobs modules and tests that still import them from here (PENDING, issue 18: import backend.scheduler).
Job = scheduler.Job
scheduled_job = scheduler.scheduled_job
_jobs = scheduler.jobs
_every = scheduler._every
_last_run = scheduler._last_run
_due = scheduler.due
# Modules whose import registers scheduled jobs.
JOB_MODULES = ("backend.responses.jobs", "backend.publishing.jobs", "backend.commitments.jobs", "backend.privacy.jobs")


def load_jobs() -> None:
    """Imports the jobs modules (by name: the worker knows them without importing the domains at its import)."""
    for name in JOB_MODULES:
        importlib.import_module(name)


def run_once(engine: Engine, settings: Settings) -> None:
    """One tick: scheduled jobs, then drain the outbox."""
    load_jobs()
    for name, job in list(_jobs):
        if not _due(name, time.monotonic()):
            continue
        try:
            job(engine, settings)
        except Exception:
            log.exception("scheduled job %s failed", name)
    try:
        sender.drain(engine=engine, settings=settings)
    except Exception:
        log.exception("outbox drain failed")


def run_forever(engine: Engine, stop: threading.Event, settings: Settings) -> None:
    while not stop.is_set():
        run_once(engine, settings)
        stop.wait(settings.outbox_poll_seconds)


def start_thread(engine: Engine, settings: Settings) -> tuple[threading.Thread, threading.Event]:
    stop = threading.Event()
    thread = threading.Thread(target=run_forever, args=(engine, stop, settings), name="undersigned-worker",
                              daemon=True)
    thread.start()
    return thread, stop
