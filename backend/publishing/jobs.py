"""Scheduled jobs of publishing: letters go public at their embargo minute, once; their documents are built."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlmodel import Session

from backend.config import Settings
from backend.db import session_for_write
from backend.publishing import documents, service
from backend.scheduler import scheduled_job


@scheduled_job("publish at embargo")
def publish_due(engine: Engine, settings: Settings) -> None:
    """Publishes scheduled letters whose embargo has come (a claimed UPDATE makes it once across workers)."""
    with Session(engine) as reader:  # look first, so an idle worker does not take the write lock
        if not service.due_for_publication(session=reader):
            return
    with session_for_write(engine) as session:
        service.publish_due(session=session)
        session.commit()


@scheduled_job("build documents")
def build_documents(engine: Engine, settings: Settings) -> None:
    """Builds the press packs that are due (queued by `revision.bump`, claimed so that each is built once)."""
    documents.build_due(engine, settings)
