"""Development data for `undersigned serve` on the embedded default: an example coalition, a log-in for it,
and the example letters from `letters/`, loaded once."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session, select

from backend.accounts import service as accounts
from backend.accounts.models import Organisation, User
from backend.config import Settings
from backend.letters import service as letters
from backend.publishing import service as publishing

DEV_EMAIL = "campaigns@example.org"
DEV_PASSWORD = "undersigned-dev"  # noqa: S105 - development only: printed in the console, never used outside development
DEV_ORGANISATION = "Example Coalition for Fair Policing"
# Published when the examples are first loaded, so the public pages, feeds and press pack have something to show.
PUBLISHED_EXAMPLE = "restoring-trust-in-london-policing"


def prepare(*, engine: Engine, settings: Settings) -> None:
    """Creates the development account and loads the examples once; prints the log-in."""
    with Session(engine) as session:
        user = accounts.get_by_email(session=session, email=DEV_EMAIL)
        if user is None:
            user = accounts.create_user(session=session, email=DEV_EMAIL, name="Campaigns Officer",
                                        password=DEV_PASSWORD, verified=True)
            org = session.exec(select(Organisation).where(Organisation.name == DEV_ORGANISATION)).first()
            if org is None:
                org = accounts.create_organisation(
                    session=session, name=DEV_ORGANISATION, website="https://example.org",
                    description="An example coalition lead, created for development.",
                )
            accounts.add_membership(session=session, user=user, organisation=org, role="admin")
            session.commit()
        letters_dir = Path(settings.letters_dir)
        if settings.load_examples and any(letters_dir.glob("*.md")):
            from backend.letters import files  # deliberate: letters/files imports backend.cli (PENDING, letters)

            loaded = files.load_examples(session=session, directory=letters_dir, author=user)
            session.commit()
            if loaded:
                print(f"Loaded {loaded} example letter(s) from {letters_dir}.", flush=True)
                _publish_example(session=session, user=user)
    print(f"Development log-in: {DEV_EMAIL} / {DEV_PASSWORD}", flush=True)


def _publish_example(*, session: Session, user: User) -> None:
    letter = letters.get_by_slug(session=session, slug=PUBLISHED_EXAMPLE)
    if letter is None or letter.status == "published":
        return
    publishing.publish(session=session, letter=letter, user=user, ip=None)
    session.commit()
    print(f"Published the example letter at /letters/{PUBLISHED_EXAMPLE}.", flush=True)
