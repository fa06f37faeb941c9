"""The test harness itself: each test's transaction is rolled back, the app and the test share it, a transaction
that only read keeps what was committed inside it, real-commit tests run on the real engine, passwords are cheap."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import Session, select

from backend.accounts.models import User


def _emails(engine: Any) -> list[str]:
    with Session(engine) as session:
        return list(session.exec(select(User.email).order_by(User.email)))


def test_what_the_app_and_the_test_commit_the_test_sees_and_nobody_else(client: Any, engine: Any, real_engine: Any,
                                                                         make_user: Any, login: Any,
                                                                         rolled_back: Any) -> None:
    from backend.accounts.models import UserSession

    assert engine is rolled_back.engine
    user = make_user(email="sam@signup.example")
    login(client, user)  # the app commits a session row
    with Session(engine) as session:
        assert session.exec(select(UserSession.user_id)).all() == [user.id]
    assert rolled_back.savepoints == [], "every transaction of the app and the test has ended"
    # Another connection sees none of it: it is all in the test's transaction, rolled back at its end.
    assert "sam@signup.example" in _emails(engine)
    assert "sam@signup.example" not in _emails(real_engine)


def test_a_transaction_that_only_read_keeps_what_a_write_inside_it_committed(engine: Any, make_user: Any) -> None:
    user = make_user(email="reader@example.org")
    with Session(engine) as reader:
        assert reader.get(User, user.id) is not None  # a GET's session, reading
        with Session(engine) as writer:  # a short write transaction of its own (as touch_session)
            writer.execute(text("UPDATE user SET name = 'Renamed' WHERE id = :id" if engine.dialect.name == "sqlite"
                                else 'UPDATE "user" SET name = \'Renamed\' WHERE id = :id'), {"id": user.id})
            writer.commit()
        # the reader closes without committing
    with Session(engine) as session:
        assert session.exec(select(User.name).where(User.id == user.id)).one() == "Renamed"


def test_a_transaction_rolled_back_undoes_its_writes_and_an_error_does_not_spoil_the_test(engine: Any) -> None:
    with Session(engine) as session:
        session.add(User(email="gone@example.org", name="Gone"))
        session.flush()
        session.rollback()
    with Session(engine) as session, pytest.raises(Exception, match="no_such_table"):
        session.execute(text("SELECT * FROM no_such_table"))
    assert "gone@example.org" not in _emails(engine)  # (on PostgreSQL, only after a rollback to the savepoint)


@pytest.mark.real_commits
def test_a_real_commits_test_runs_on_the_real_engine(engine: Any, real_engine: Any, make_user: Any) -> None:
    assert engine is real_engine
    make_user(email="committed@example.org")
    assert "committed@example.org" in _emails(real_engine)


def test_passwords_are_hashed_at_the_test_cost(settings: Any) -> None:
    from backend.accounts import passwords

    assert settings.fast_password_hashing
    assert passwords.hasher().hash("a password").startswith("$argon2id$v=19$m=1024,t=1,p=1$")
