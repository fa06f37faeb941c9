"""Alembic environment: the metadata of every model, the URL from settings, batch mode on SQLite."""

import logging
from logging.config import fileConfig

from sqlmodel import SQLModel

import backend.models  # noqa: F401  (registers every table)
from alembic import context
from backend.base import StrEnumType
from backend.config import get_settings
from backend.db import dispose, make_engine

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name)

target_metadata = SQLModel.metadata


def _url() -> str:
    return config.get_main_option("sqlalchemy.url") or get_settings().database_url


def run_migrations_offline() -> None:
    context.configure(
        url=_url(), target_metadata=target_metadata, literal_binds=True, render_as_batch=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connectable = config.attributes.get("connection")
    if connectable is not None:
        _run(connectable)
        return
    engine = make_engine(_url())
    with engine.connect() as connection:
        _run(connection)
    dispose(engine)


def _include_object(obj, name, type_, reflected, compare_to):  # type: ignore[no-untyped-def]
    # The SQLite full-text table (and the shadow tables FTS5 keeps) is made by a migration, not by a model.
    return not (type_ == "table" and reflected and compare_to is None and (name or "").startswith("letter_search"))


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    # SQLite: batch mode rebuilds a table (copy, DROP, rename); with foreign keys on, the DROP would delete or
    # null the rows that point at it (ON DELETE CASCADE / SET NULL). The pragma only works outside a
    # transaction, so it is set on the driver's connection before Alembic begins one, and checked and restored
    # after it has committed.
    foreign_keys_off = connection.dialect.name == "sqlite" and not connection.in_transaction()
    if foreign_keys_off:
        connection.connection.dbapi_connection.execute("PRAGMA foreign_keys=OFF")
    try:
        _migrate(connection)
    finally:
        if foreign_keys_off:
            dbapi_connection = connection.connection.dbapi_connection
            broken = dbapi_connection.execute("PRAGMA foreign_key_check").fetchall()
            dbapi_connection.execute("PRAGMA foreign_keys=ON")
            if broken:
                logging.getLogger("alembic.env").warning("Rows point at missing rows (table, rowid, parent, fk): %s",
                                                         broken[:20])


def _render_item(type_, obj, autogen_context):  # type: ignore[no-untyped-def]
    # A state column is stored as a plain string: autogenerate writes it so (its CHECK comes with a new table;
    # for a column added to an existing table, add the CHECK by hand: tests/test_migrations.py compares them).
    if type_ == "type" and isinstance(obj, StrEnumType):
        return f"sa.String(length={obj.impl.length})"
    return False


def _migrate(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=_include_object,
        render_item=_render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
