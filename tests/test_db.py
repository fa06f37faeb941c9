"""The database layer's own rules: one write engine per engine, made once."""

from __future__ import annotations

from pathlib import Path

from backend.db import make_engine, write_engine


def test_the_write_engine_of_an_engine_is_made_once(tmp_path: Path) -> None:
    # Every unsafe request asks for it: building a new engine proxy per request cost a POST ~3% of its time.
    engine = make_engine(f"sqlite:///{tmp_path / 'once.db'}")
    try:
        first = write_engine(engine)
        assert write_engine(engine) is first
        assert first.get_execution_options().get("sqlite_begin") == "IMMEDIATE"
        other = make_engine(f"sqlite:///{tmp_path / 'other.db'}")
        assert write_engine(other) is not first
        assert write_engine(other).get_execution_options().get("sqlite_begin") == "IMMEDIATE"
        other.dispose()
    finally:
        engine.dispose()


def test_on_postgresql_the_write_engine_is_the_engine_itself() -> None:
    engine = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none", pool_pre_ping=False)
    assert write_engine(engine) is engine


def test_an_enum_column_reads_back_members_and_refuses_what_is_not_one() -> None:
    from enum import StrEnum

    import pytest

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
