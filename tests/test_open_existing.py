"""Opening without creating (every `qmfa` command but init and demo): an existing qmfa
database opens; anything else is refused in one line and nothing is made."""

from __future__ import annotations

from pathlib import Path

import pytest

from qmfa_tui import storage
from qmfa_tui.database_url import data_dir
from qmfa_tui.errors import StorageError


def table_names() -> set[str]:
    return set(storage.db.get_tables())


def key_files() -> list[Path]:
    return sorted(data_dir().glob("*.key")) if data_dir().exists() else []


def test_an_empty_database_is_refused_with_no_table_and_no_key(backend, database_url, db_path):
    if backend == "sqlite":
        db_path.parent.mkdir()
        db_path.touch()
    with pytest.raises(StorageError) as refused:
        storage.open_database(database_url, create=False)
    message = refused.value.message
    assert "holds no qmfa database yet" in message and "qmfa init" in message
    assert "\n" not in message
    assert key_files() == [] and not db_path.with_suffix(".key").exists()
    storage.open_database(database_url)  # creating: the schema and its key appear
    try:
        assert {"account", "schema_migration"} <= table_names()
    finally:
        storage.close_database()


def test_an_existing_database_opens_without_creating(backend, database_url):
    storage.open_database(database_url)
    created_key = storage.current().key_file
    storage.close_database()
    opened = storage.open_database(database_url, create=False)
    try:
        assert opened.key_file == created_key and "account" in table_names()
    finally:
        storage.close_database()


def test_a_missing_key_is_never_made_when_not_creating(backend, database_url):
    storage.open_database(database_url)
    key = storage.current().key_file
    storage.InstanceSettings.update(key_check=None).execute()  # a database never keyed
    storage.close_database()
    assert key is not None
    key.unlink()
    with pytest.raises(StorageError, match=r"key file .* is missing"):
        storage.open_database(database_url, create=False)
    assert not key.exists()


def test_a_missing_sqlite_file_is_refused_and_nothing_is_made(tmp_path):
    path = tmp_path / "nowhere" / "qmfa.db"
    with pytest.raises(StorageError) as refused:
        storage.open_database(f"sqlite:///{path}", create=False)
    assert refused.value.message == (
        f"There is no database {path}: `qmfa init` creates one, `qmfa demo` one with demo users."
    )
    assert not path.parent.exists()
