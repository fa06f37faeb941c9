"""What happens in other domains when a letter changes (as Dispatch's case/flows.py)."""

from __future__ import annotations

from sqlmodel import Session

from backend.config import Settings
from backend.letters.models import Letter, LetterVersion
from backend.signatures.confirming import on_new_version


def new_version_flow(*, session: Session, settings: Settings, letter: Letter, version: LetterVersion) -> int:
    """A new text: signatures on an older text need reconfirmation (issue 4); returns how many were asked."""
    return on_new_version(session=session, settings=settings, letter=letter, version=version)
