"""Migration 0011 (states as CHECK constraints): rows written at 0006 come through the upgrade intact (nothing
cascaded away by SQLite's table rebuilds) and read back as enum members; a value outside a state's set is
refused; the downgrade takes the constraints away again. Migration 0012 lets a document build be of kind
'staff'. On PostgreSQL too when TEST_DATABASE_URL is set."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import CheckConstraint, Engine, create_engine, func, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel
from sqlmodel import select as select_rows

import backend.models as m
from alembic import command
from backend.db import dispose, make_engine, utcnow
from backend.letters.enums import LetterStatus
from backend.migrations import alembic_config
from backend.publishing.models import DocumentBuild
from backend.responses.enums import CommitmentStatus, ResponseKind
from backend.signatures.enums import SignatureStatus, SignatureVia, TokenPurpose

BEFORE = "0006"
STATES = "0011"


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'states.db'}"
        return
    base = os.environ.get("TEST_DATABASE_URL")
    if not base or make_url(base).get_backend_name() != "postgresql":
        pytest.skip("PostgreSQL: needs TEST_DATABASE_URL")
    name = f"undersigned_migrations_{secrets.token_hex(4)}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(base).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _insert(conn: Any, model: Any, **values: Any) -> int:
    """A Core INSERT through the model's table (its Python-side defaults apply); the schema at 0006 has the
    same columns as the models."""
    return int(conn.execute(model.__table__.insert().returning(model.__table__.c.id), values).scalar_one())


def _insert_organisation(conn: Any, name: str) -> int:
    """An organisation as the schemas before 0013 hold it (no skeleton column yet)."""
    now = utcnow()
    return int(conn.execute(text("INSERT INTO organisation (created_at, updated_at, name, slug) "
                                 "VALUES (:now, :now, :name, :slug) RETURNING id"),
                            {"now": now, "name": name, "slug": name.lower().replace(" ", "-")}).scalar_one())


def _seed(engine: Engine) -> dict[str, int]:
    """A letter with everything that points at it: rows that a careless table rebuild would cascade away."""
    ids: dict[str, int] = {}
    with engine.begin() as conn:
        ids["org"] = _insert_organisation(conn, "Org")
        ids["user"] = _insert(conn, m.User, email="lead@example.org", name="Lead")
        _insert(conn, m.Membership, user_id=ids["user"], organisation_id=ids["org"], role="admin")
        ids["campaign"] = _insert(conn, m.Campaign, title="C", slug="c", lead_organisation_id=ids["org"])
        _insert(conn, m.CoalitionMember, campaign_id=ids["campaign"], organisation_id=ids["org"], role="lead")
        ids["letter"] = _insert(conn, m.Letter, campaign_id=ids["campaign"], title="L", slug="l", status="open")
        ids["version"] = _insert(conn, m.LetterVersion, letter_id=ids["letter"], number=1, salutation="Dear",
                                 subject="S", body="B", sign_off="Yours", content_hash="h" * 64)
        conn.execute(m.Letter.__table__.update().values(current_version_id=ids["version"]))
        ids["signature"] = _insert(
            conn, m.Signature, letter_id=ids["letter"], version_id=ids["version"], display_name="Friends",
            name_key="friends", signer_name="Ann", contact_email="ann@example.org", email_key="ann@example.org",
            status="approved", via="open",
        )
        _insert(conn, m.SignatureToken, signature_id=ids["signature"], purpose="manage", token_hash="t" * 64,
                expires_at=utcnow() + timedelta(days=30))
        recipient = _insert(conn, m.Recipient, organisation_id=ids["org"], name="Minister")
        ids["link"] = _insert(conn, m.LetterRecipient, letter_id=ids["letter"], recipient_id=recipient,
                              reply_status="replied")
        response = _insert(conn, m.Response, letter_recipient_id=ids["link"], received_on=date(2026, 11, 2),
                           kind="substantive_reply", summary="Yes")
        ids["commitment"] = _insert(conn, m.Commitment, response_id=response, text="Do it", status="in_progress")
        _insert(conn, m.CommitmentEvidence, commitment_id=ids["commitment"], noted_on=date(2026, 11, 3), note="n",
                status_from="open", status_to="in_progress")
        _insert(conn, m.OutboundEmail, to_address="ann@example.org", template="t", subject="s", text="t", html="h",
                next_attempt_at=utcnow(), message_id="<1@example.org>")
    return ids


COUNTED = [m.Letter, m.LetterVersion, m.Signature, m.SignatureToken, m.LetterRecipient, m.Response, m.Commitment,
           m.CommitmentEvidence, m.CoalitionMember, m.Membership, m.OutboundEmail]


def _counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {model.__tablename__: conn.execute(select(func.count()).select_from(model.__table__)).scalar_one()
                for model in COUNTED}


def _check_names(engine: Engine) -> set[str]:
    found = set()
    inspector = inspect(engine)
    for table in SQLModel.metadata.tables:
        found |= {c["name"] for c in inspector.get_check_constraints(table) if c["name"].startswith("ck_")}
    return found


def test_states_migration_keeps_the_data_and_refuses_unknown_states(url: str) -> None:
    config = alembic_config(url)
    command.upgrade(config, BEFORE)
    engine = make_engine(url)
    try:
        ids = _seed(engine)
        before = _counts(engine)
        assert "ck_letter_status" not in _check_names(engine)

        command.upgrade(config, "head")
        assert _counts(engine) == before
        wanted = {c.name for t in SQLModel.metadata.tables.values() for c in t.constraints
                  if isinstance(c, CheckConstraint)}
        assert _check_names(engine) == wanted  # alembic check does not compare CHECK constraints: this does
        with Session(engine) as session:
            letter = session.get(m.Letter, ids["letter"])
            assert letter is not None and letter.status is LetterStatus.open
            assert letter.current_version_id == ids["version"]
            signature = session.get(m.Signature, ids["signature"])
            assert signature is not None
            assert (signature.status, signature.via) == (SignatureStatus.approved, SignatureVia.open)
            assert session.exec(select_rows(m.SignatureToken)).one().purpose is TokenPurpose.manage
            assert session.exec(select_rows(m.Response)).one().kind is ResponseKind.substantive_reply
            evidence = session.exec(select_rows(m.CommitmentEvidence)).one()
            assert (evidence.status_from, evidence.status_to) == (CommitmentStatus.open, CommitmentStatus.in_progress)

        for statement in ("UPDATE signature SET status = 'superseded'", "UPDATE letter SET status = 'live'",
                          "UPDATE commitment_evidence SET status_to = 'done'"):
            with pytest.raises(IntegrityError), engine.begin() as conn:
                conn.execute(text(statement))
        with engine.begin() as conn:  # a nullable state may still be empty
            conn.execute(text("UPDATE commitment_evidence SET status_from = NULL"))

        command.downgrade(config, BEFORE)
        assert _counts(engine) == before
        assert not {"ck_letter_status", "ck_signature_status"} & _check_names(engine)
        with engine.begin() as conn:  # no constraint any more
            conn.execute(text("UPDATE letter SET status = 'live'"))

        # A value the code never wrote stops the upgrade, named, before anything changes.
        with pytest.raises(RuntimeError, match=r"letter\.status = 'live'"):
            command.upgrade(config, STATES)
        with engine.begin() as conn:
            conn.execute(text("UPDATE letter SET status = 'open'"))
        command.upgrade(config, STATES)
        assert _counts(engine) == before
    finally:
        dispose(engine)


STAFF_PDF = "0012"


def test_staff_pdf_migration_widens_the_document_kinds_and_its_downgrade_drops_the_staff_builds(url: str) -> None:
    config = alembic_config(url)
    command.upgrade(config, STATES)
    engine = make_engine(url)
    try:
        ids = _seed(engine)
        with engine.begin() as conn:
            _insert(conn, DocumentBuild, letter_id=ids["letter"], kind="public", status="built", files="{}")
        with pytest.raises(IntegrityError), engine.begin() as conn:
            _insert(conn, DocumentBuild, letter_id=ids["letter"], kind="staff", status="queued", files="{}")

        command.upgrade(config, STAFF_PDF)
        before = _counts(engine)
        with engine.begin() as conn:
            _insert(conn, DocumentBuild, letter_id=ids["letter"], kind="staff", status="queued", files="{}")
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(text("UPDATE document_build SET kind = 'draft' WHERE kind = 'staff'"))

        command.downgrade(config, STATES)
        assert _counts(engine) == before
        with engine.connect() as conn:
            assert conn.execute(text("SELECT kind FROM document_build")).scalars().all() == ["public"]
        with pytest.raises(IntegrityError), engine.begin() as conn:
            _insert(conn, DocumentBuild, letter_id=ids["letter"], kind="staff", status="queued", files="{}")
    finally:
        dispose(engine)


ORGANISATION_SKELETON = "0013"


def test_organisation_skeleton_migration_gives_each_organisation_its_skeleton(url: str) -> None:
    """A sign-on finds organisations that read alike by an indexed skeleton: those made before it get theirs."""
    from backend.signatures.identity import look_alike
    from backend.text import skeleton

    config = alembic_config(url)
    command.upgrade(config, STAFF_PDF)
    engine = make_engine(url)
    try:
        ids = _seed(engine)
        with engine.begin() as conn:
            _insert_organisation(conn, "Amnesty International UK")
        before = _counts(engine)

        command.upgrade(config, ORGANISATION_SKELETON)
        assert _counts(engine) == before
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT name, skeleton FROM organisation ORDER BY id")).all()
        assert [(name, shape) for name, shape in rows] == [(name, skeleton(name)) for name, _ in rows]
        with Session(engine) as session:
            held = look_alike(session=session, letter_id=ids["letter"], name="AMNESTY lNTERNATIONAL UK",
                              name_key="amnesty lnternational uk")
        assert held == "looks like Amnesty International UK, an organisation with an account here"

        command.downgrade(config, STAFF_PDF)
        assert _counts(engine) == before
    finally:
        dispose(engine)
