"""/healthz says the process answers; /readyz says the database answers, the schema is current, and how long the
oldest due outbox row has waited."""

from __future__ import annotations

from datetime import timedelta
from typing import Any


def test_healthz_answers_without_the_database(client: Any) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    assert response.headers["cache-control"] == "no-store"


def test_readyz_reports_the_database_the_schema_and_the_outbox(client: Any, db: Any, clock: Any) -> None:
    from backend.mail import service as mail

    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() | {"oldest_due_outbox_seconds": 0} == {
        "status": "ok", "database": "ok", "schema": "current", "oldest_due_outbox_seconds": 0}
    mail.enqueue(session=db, to="someone@example.org", template="test_message", context={})
    db.commit()
    clock(timedelta(minutes=3))
    report = client.get("/readyz").json()
    assert 170 <= report["oldest_due_outbox_seconds"] <= 200, report


def test_readyz_is_503_on_an_old_schema(client: Any, monkeypatch: Any) -> None:
    from backend import health

    monkeypatch.setattr(health, "_heads", lambda url: frozenset({"9999"}))
    response = client.get("/readyz")
    assert response.status_code == 503 and response.json()["schema"].startswith("behind")


def test_readyz_is_503_when_the_database_is_unreachable(app: Any, settings: Any) -> None:
    from fastapi.testclient import TestClient

    from backend.db import make_engine

    broken = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none", pool_pre_ping=False)
    engine = app.state.engine  # (not monkeypatch: undoing it on Starlette's State deletes the attribute)
    app.state.engine = broken
    try:
        with TestClient(app) as c:
            response = c.get("/readyz")
    finally:
        app.state.engine = engine
    assert response.status_code == 503 and response.json()["database"] == "unreachable"
    assert "OperationalError" in response.json()["error"]
