"""Engine, sessions, naming convention and SQLite pragmas."""

from __future__ import annotations

import os
import sqlite3
import threading
import weakref
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, cast, overload

from fastapi import Depends, Request
from sqlalchemy import ClauseElement, Engine, Insert, MetaData, Table, event
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.engine import URL, make_url
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


class SQLiteDialect(SQLiteDialect_pysqlite):
    """pysqlite, with each transaction begun by the dialect, not by the driver (whose BEGIN comes only before a
    write, so a read of several statements would not see one state): `BEGIN DEFERRED`, or on a write engine
    (`write_engine`) `BEGIN IMMEDIATE` once this process's write lock is held.

    The dialect's own hook rather than SQLAlchemy's `begin` event, which is the usual recipe: with any connection
    event listened for, SQLAlchemy dispatches every event of every statement, ~100 Python calls a request."""

    supports_statement_cache = True

    def __init__(self, begin_mode: str = "DEFERRED", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if begin_mode not in ("DEFERRED", "IMMEDIATE"):
            raise ValueError(f"begin_mode must be DEFERRED or IMMEDIATE, not {begin_mode!r}")
        self.begin_mode = begin_mode

    def do_begin(self, dbapi_connection: Any) -> None:
        raw = getattr(dbapi_connection, "dbapi_connection", dbapi_connection)  # the pool's proxy, or the driver's
        if self.begin_mode == "IMMEDIATE" and isinstance(raw, _SQLiteConnection) and not raw.holds_write_lock \
                and raw.write_lock is not None:
            raw.holds_write_lock = raw.write_lock.acquire(timeout=WRITE_LOCK_TIMEOUT)
        try:  # straight to the driver: SQLAlchemy's statement path cost ~4% of a sign-on's CPU for one BEGIN
            raw.execute(f"BEGIN {self.begin_mode}")
        except BaseException:
            if isinstance(raw, _SQLiteConnection):
                raw._release()
            raise


registry.register("sqlite.undersigned", __name__, "SQLiteDialect")

# An engine's write engine (SQLite: the same database, its own pool, transactions begun IMMEDIATE), kept as long
# as the engine is.
_write_engines: weakref.WeakKeyDictionary[Engine, Engine] = weakref.WeakKeyDictionary()


def _sqlite_engine(url: URL, begin_mode: str, **kwargs: Any) -> Engine:
    """An engine on this SQLite file through `SQLiteDialect`: WAL, busy_timeout and foreign keys on each
    connection, and the process's write lock (per file) for its write transactions."""
    engine = create_engine(url.set(drivername="sqlite+undersigned"), begin_mode=begin_mode,
                           connect_args={"check_same_thread": False, "timeout": 30, "factory": _SQLiteConnection},
                           **kwargs)
    lock = _write_lock(os.path.abspath(url.database or ":memory:"))

    @event.listens_for(engine, "connect")  # a pool event: no connection event is dispatched for it
    def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # the dialect, not pysqlite, sends BEGIN (see SQLiteDialect)
        if isinstance(dbapi_connection, _SQLiteConnection):
            dbapi_connection.write_lock = lock
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return engine


def make_engine(database_url: str, **kwargs: Any) -> Engine:
    """Creates the engine; on SQLite turns on WAL, busy_timeout and foreign keys, and makes its write engine."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if url.get_driver_name() != "pysqlite":
            raise ValueError(f"SQLite is used through Python's sqlite3 (pysqlite), not {url.get_driver_name()}")
        engine = _sqlite_engine(url, "DEFERRED", **kwargs)
        if url.database not in (None, "", ":memory:"):  # a database in memory is one connection's own
            _write_engines[engine] = _sqlite_engine(url, "IMMEDIATE", **kwargs)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    return create_engine(database_url, **kwargs)


def write_engine(engine: Engine) -> Engine:
    """The engine for a write transaction: on SQLite, the engine `make_engine` made beside this one, whose
    transactions begin IMMEDIATE (no deadlock upgrading a read to a write); otherwise the engine itself."""
    return _write_engines.get(engine, engine)


def dispose(engine: Engine) -> None:
    """Closes the pooled connections of the engine and of its write engine."""
    writer = _write_engines.get(engine)
    if writer is not None:
        writer.dispose()
    engine.dispose()


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
