"""Opening without creating (every `qmfa` command but init and demo): an existing qmfa
database opens; anything else is refused in one line and nothing is made."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from helpers import run_python

from qmfa_tui import database_url as database_url_module
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


# What `qmfa` must not load to open a database this version already migrated: the
# migration runner, and the driver of the other backend.
RUNNER_AND_DRIVERS = ("playhouse.migrations", "playhouse.migrate", "sqlite3", "psycopg", "psycopg2")


def modules_loaded_by(program: str) -> list[str]:
    printed = run_python(
        program + f"\nprint(sorted(name for name in {RUNNER_AND_DRIVERS!r}"
        " if sys.modules.get(name) is not None))"
    )
    return ast.literal_eval(printed.splitlines()[-1])


def test_the_qmfa_command_loads_one_driver_and_no_migration_runner(backend, database_url):
    storage.open_database(database_url)  # made and migrated
    storage.close_database()
    program = (
        "import sys\n"
        "from qmfa_tui import cli\n"
        f"assert cli.main(['--database', {database_url!r}, 'users', 'list']) == 0"
    )
    driver = "sqlite3" if backend == "sqlite" else database_url_module.postgresql_driver()
    assert modules_loaded_by(program) == [driver]


def test_a_database_with_a_migration_to_apply_still_gets_it(backend, database_url):
    storage.open_database(database_url)
    storage.db.execute_sql("DELETE FROM schema_migration WHERE name = '0010_key_check_hmac'")
    storage.close_database()
    storage.open_database(database_url, create=False)  # the runner applies it again
    try:
        applied = storage.db.execute_sql("SELECT name FROM schema_migration").fetchall()
        assert ("0010_key_check_hmac",) in applied
    finally:
        storage.close_database()


def test_psycopg_3_opens_postgresql_when_psycopg2_is_absent(backend, database_url):
    if backend != "postgresql":
        pytest.skip("a PostgreSQL driver")
    pytest.importorskip("psycopg")
    storage.open_database(database_url)
    storage.close_database()
    program = (
        "import sys\n"
        "sys.modules['psycopg2'] = None\n"
        "from qmfa_tui import storage\n"
        f"storage.open_database({database_url!r}, create=False)\n"
        "print(type(storage.db.obj).__name__)"
    )
    assert run_python(program) == "PooledPsycopg3Database"
