"""Alembic from code: upgrade, and the check that refuses to serve on an old schema."""

from __future__ import annotations

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from alembic import command
from backend import PROJECT_ROOT


class DatabaseBehind(RuntimeError):
    pass


def alembic_config(database_url: str) -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "alembic"))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    config.attributes["configure_logger"] = False
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def heads(database_url: str) -> set[str]:
    return set(ScriptDirectory.from_config(alembic_config(database_url)).get_heads())


def current(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads())


def ensure_current(engine: Engine, database_url: str) -> None:
    """Raises DatabaseBehind, naming the fixing command, when the schema is not at the latest migration."""
    have, want = current(engine), heads(database_url)
    if have != want:
        raise DatabaseBehind(
            f"The database is at migration {sorted(have) or 'none'}, but the code needs {sorted(want)}. "
            "Run `undersigned migrate` (or `alembic upgrade head`) and start again."
        )
