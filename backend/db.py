"""Engine, sessions, naming convention and SQLite pragmas."""

from __future__ import annotations

import os
import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, cast, overload

from fastapi import Depends, Request
from sqlalchemy import ClauseElement, Engine, Insert, MetaData, Table, event
from sqlalchemy.engine import make_url
from sqlalchemy.sql.compiler import SQLCompiler
from sqlmodel import Session, SQLModel, create_engine

# Stable constraint names on SQLite and PostgreSQL alike (Alembic batch mode needs them).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata = MetaData(naming_convention=NAMING_CONVENTION)

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


_clock_offset = timedelta(0)


def utcnow() -> datetime:
    """Now, as an aware UTC datetime (shifted by the test clock offset, zero outside tests)."""
    return datetime.now(UTC) + _clock_offset


def set_clock_offset(offset: timedelta) -> None:
    """Moves the app's clock (tests: "20 working days later"). Every rule reads time through utcnow()."""
    global _clock_offset
    _clock_offset = offset


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; every stored datetime is UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# One writer at a time per SQLite file and process. Threads queue here and are woken the moment the writer
# commits; left to SQLite's busy handler they would sleep-poll (up to 100 ms a try) and, under a storm of
# sign-ons, spend most of their time asleep while the file is free.
_write_locks: dict[str, threading.Lock] = {}
_write_locks_guard = threading.Lock()
WRITE_LOCK_TIMEOUT = 30.0  # then BEGIN IMMEDIATE goes ahead and SQLite's own busy_timeout decides


def _write_lock(database: str) -> threading.Lock:
    with _write_locks_guard:
        return _write_locks.setdefault(database, threading.Lock())


class _SQLiteConnection(sqlite3.Connection):
    """A pysqlite connection that lets go of the process's write lock once its transaction has ended."""

    write_lock: threading.Lock | None = None
    holds_write_lock = False

    def _release(self) -> None:
        if self.holds_write_lock and self.write_lock is not None:
            self.holds_write_lock = False
            self.write_lock.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._release()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._release()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._release()


def make_engine(database_url: str, **kwargs: Any) -> Engine:
    """Creates the engine; on SQLite turns on WAL, busy_timeout and foreign keys."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        engine = create_engine(
            database_url, connect_args={"check_same_thread": False, "timeout": 30, "factory": _SQLiteConnection},
            **kwargs
        )
        lock = _write_lock(os.path.abspath(url.database or ":memory:"))

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
            # Let SQLAlchemy, not pysqlite, emit BEGIN so write transactions can be IMMEDIATE.
            dbapi_connection.isolation_level = None
            if isinstance(dbapi_connection, _SQLiteConnection):
                dbapi_connection.write_lock = lock
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
            dbapi_connection = conn.connection.dbapi_connection
            if mode == "IMMEDIATE" and isinstance(dbapi_connection, _SQLiteConnection) and \
                    not dbapi_connection.holds_write_lock:
                dbapi_connection.holds_write_lock = lock.acquire(timeout=WRITE_LOCK_TIMEOUT)
            try:  # straight to the driver: SQLAlchemy's statement path cost ~4% of a sign-on's CPU for one BEGIN
                dbapi_connection.execute(f"BEGIN {mode}")
            except BaseException:
                if isinstance(dbapi_connection, _SQLiteConnection):
                    dbapi_connection._release()
                raise

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    return create_engine(database_url, **kwargs)


_write_engines: dict[int, tuple[Engine, Engine]] = {}  # id(engine) → (engine, its write engine)


def write_engine(engine: Engine) -> Engine:
    """The same engine, but SQLite transactions start with BEGIN IMMEDIATE (no upgrade deadlocks). One per
    engine, made once (a request should not build a new engine proxy each time). The engine is kept beside its
    write engine so that an id reused by a later engine is not mistaken for it."""
    if engine.dialect.name != "sqlite":
        return engine
    found = _write_engines.get(id(engine))
    if found is None or found[0] is not engine:
        found = _write_engines[id(engine)] = (engine, engine.execution_options(sqlite_begin="IMMEDIATE"))
    return found[1]


def session_for_write(engine: Engine) -> Session:
    return Session(write_engine(engine), expire_on_commit=False)


REQUEST_SESSION = "db_session"  # where a request's session is kept in its state (`scope["state"]`)


async def get_session(request: Request) -> Session:
    """The request's session, made on first use; unsafe methods get a write transaction. Routes commit explicitly.

    A plain async dependency, not a `yield` one: FastAPI wraps each of those in an exit stack and a cancel scope,
    which cost a sign-on more than its session did. The app's outermost middleware closes the session once the
    request is answered (`close_request_session`): its connection goes back to the pool, with a ROLLBACK if a
    transaction is still open."""
    state = request.scope.setdefault("state", {})
    session: Session | None = state.get(REQUEST_SESSION)
    if session is None:
        engine: Engine = request.app.state.engine
        bind = write_engine(engine) if request.method in UNSAFE_METHODS else engine
        session = state[REQUEST_SESSION] = Session(bind, expire_on_commit=False)
    return session


def close_request_session(state: dict[str, Any]) -> None:
    """Closes the session `get_session` made for this request, if it made one."""
    session = state.pop(REQUEST_SESSION, None)
    if session is not None:
        session.close()


SessionDep = Annotated[Session, Depends(get_session)]


# The hottest public reads (a page's key, a built document's name), compiled once per statement and database kind.
_prepared: dict[tuple[int, str, str], tuple[str, tuple[str, ...] | None, dict[str, Any]]] = {}


def first_row(engine: Engine, statement: ClauseElement, params: dict[str, Any]) -> tuple[Any, ...] | None:
    """The first row of a SELECT built once (at import), run on a pooled DB-API connection: no ORM session, no
    SQLAlchemy execution context and, on SQLite, no BEGIN (autocommit, and the driver keeps it prepared).
    Values come back as the driver gives them (no type processing): for columns of text and numbers."""
    kind = (id(statement), engine.dialect.name, engine.dialect.driver)
    found = _prepared.get(kind)
    if found is None:
        compiled = cast(SQLCompiler, statement.compile(dialect=engine.dialect))
        order = tuple(compiled.positiontup or ()) if compiled.positional else None
        found = _prepared[kind] = (str(compiled), order, dict(compiled.params))
    sql, order, defaults = found
    values = {**defaults, **params}
    args: Any = tuple(values[name] for name in order) if order is not None else values
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        try:
            cursor.execute(sql, args)
            row = cursor.fetchone()
        finally:
            cursor.close()
    finally:
        connection.close()  # back to the pool
    return None if row is None else tuple(row)


_inserts: dict[tuple[Table, str | None, tuple[str, ...]], Insert] = {}


def _dialect_insert(dialect: str) -> Any:
    """The INSERT construct with ON CONFLICT of this database (SQLite otherwise)."""
    from sqlalchemy.dialects import postgresql, sqlite

    return postgresql.insert if dialect == "postgresql" else sqlite.insert


def _insert_statement(table: Table, dialect: str, skip_conflicts: bool, returning: tuple[str, ...] = ("id",)
                      ) -> Insert:
    """One INSERT statement object per table and shape, so SQLAlchemy compiles it once. Given many rows, it
    goes out as one multi-row INSERT (SQLAlchemy's "insertmanyvalues", because of the RETURNING clause)."""
    key = (table, dialect if skip_conflicts else None, returning)
    stmt = _inserts.get(key)
    if stmt is None:
        base = _dialect_insert(dialect)(table).on_conflict_do_nothing() if skip_conflicts else table.insert()
        stmt = _inserts[key] = base.returning(*(table.c[c] for c in returning))
    return stmt


@overload
def insert_row(session: Session, model: Any, values: dict[str, Any]) -> int: ...
@overload
def insert_row(session: Session, model: Any, values: dict[str, Any], *, skip_conflicts: bool) -> int | None: ...


def insert_row(session: Session, model: Any, values: dict[str, Any], *, skip_conflicts: bool = False) -> int | None:
    """Inserts one row of a table model with a Core INSERT in the session's transaction; returns its id.

    For hot paths (a sign-on storm): building and flushing an ORM instance costs several times the statement.
    The columns' defaults apply (`created_at`, `updated_at`, ...); no ORM flush events fire. With
    `skip_conflicts`, a row that
    would break a unique key is not inserted and None is returned (ON CONFLICT DO NOTHING): the transaction
    goes on, with no savepoint needed.
    """
    connection = session.connection()
    stmt = _insert_statement(model.__table__, connection.dialect.name, skip_conflicts)
    inserted = connection.execute(stmt, values).scalar()
    if inserted is None and not skip_conflicts:
        raise RuntimeError(f"INSERT INTO {model.__tablename__} returned no id")
    return None if inserted is None else int(inserted)


def insert_rows(session: Session, model: Any, rows: list[dict[str, Any]]) -> None:
    """Inserts many rows of a table model in one statement, like `insert_row`. The rows must all have the same
    keys."""
    if rows:
        session.connection().execute(_insert_statement(model.__table__, "", skip_conflicts=False), rows)


def insert_rows_skipping_conflicts(session: Session, model: Any, rows: list[dict[str, Any]], *,
                                   returning: tuple[str, ...]) -> list[Any]:
    """Inserts many rows in one statement, leaving out those that would break a unique key (ON CONFLICT DO
    NOTHING, also between two of these rows: the first stays); returns the `returning` columns of the rows
    inserted, in no particular order. One round trip for a batch."""
    if not rows:
        return []
    connection = session.connection()
    stmt = _insert_statement(model.__table__, connection.dialect.name, skip_conflicts=True, returning=returning)
    return list(connection.execute(stmt, rows))
