"""The database layer's own rules: one write engine per engine, made once."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from backend.db import dispose, make_engine, write_engine


def test_the_write_engine_of_an_engine_is_made_once(tmp_path: Path) -> None:
    # Every unsafe request asks for it: building a new engine per request cost a POST ~3% of its time.
    engine = make_engine(f"sqlite:///{tmp_path / 'once.db'}")
    other = make_engine(f"sqlite:///{tmp_path / 'other.db'}")
    try:
        first = write_engine(engine)
        assert write_engine(engine) is first and first is not engine
        assert write_engine(other) is not first
    finally:
        for made in (engine, other):
            dispose(made)


def test_a_write_transaction_holds_the_database_from_its_begin_and_a_read_does_not(tmp_path: Path) -> None:
    """SQLite: a write engine's transaction begins IMMEDIATE (no deadlock upgrading a read to a write), a read's
    DEFERRED; both begin with the transaction's first statement, so a read of several statements sees one state."""
    path = tmp_path / "modes.db"
    engine = make_engine(f"sqlite:///{path}")
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        with engine.connect() as reading:
            reading.exec_driver_sql("SELECT 1").all()
            assert reading.connection.dbapi_connection.in_transaction  # type: ignore[union-attr]
            other.execute("BEGIN IMMEDIATE")  # a reader holds nothing a writer needs
            other.execute("ROLLBACK")
        with write_engine(engine).connect() as writing:
            writing.exec_driver_sql("SELECT 1").all()  # nothing written yet, and the database is held
            assert writing.connection.dbapi_connection.in_transaction  # type: ignore[union-attr]
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        other.execute("BEGIN IMMEDIATE")  # let go when it ended
        other.execute("ROLLBACK")
    finally:
        other.close()
        dispose(engine)


def test_the_engines_listen_for_no_connection_event(tmp_path: Path) -> None:
    # With one listened for, SQLAlchemy dispatches every event of every statement: ~100 Python calls a request.
    engine = make_engine(f"sqlite:///{tmp_path / 'quiet.db'}")
    try:
        for made in (engine, write_engine(engine)):
            assert not any(getattr(made.dispatch, name) for name in (
                "begin", "commit", "rollback", "engine_connect", "before_execute", "before_cursor_execute"))
    finally:
        dispose(engine)


def test_on_postgresql_the_write_engine_is_the_engine_itself() -> None:
    engine = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none", pool_pre_ping=False)
    assert write_engine(engine) is engine


def test_an_enum_column_reads_back_members_and_refuses_what_is_not_one() -> None:
    from enum import StrEnum

    from backend.base import StrEnumType

    class Colour(StrEnum):
        red = "red"
        empty = ""

    column_type = StrEnumType(Colour, 10)
    read = column_type.process_result_value
    assert read("red", None) is Colour.red  # type: ignore[arg-type]
    assert read("", None) is Colour.empty  # type: ignore[arg-type]
    assert read(None, None) is None  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="blue"):
        read("blue", None)  # type: ignore[arg-type]
