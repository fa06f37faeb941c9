"""Alembic environment: the metadata of every model, the URL from settings, batch mode on SQLite."""

from logging.config import fileConfig

from sqlmodel import SQLModel

import backend.models  # noqa: F401  (registers every table)
from alembic import context
from backend.config import get_settings
from backend.db import make_engine

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
    engine.dispose()


def _include_object(obj, name, type_, reflected, compare_to):  # type: ignore[no-untyped-def]
    # The SQLite full-text table (and the shadow tables FTS5 keeps) is made by a migration, not by a model.
    return not (type_ == "table" and reflected and compare_to is None and (name or "").startswith("letter_search"))


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=_include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
