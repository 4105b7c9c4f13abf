from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from helpers import FakeClock

from qmfa_tui import storage
from qmfa_tui.services import accounts, clock


@pytest.fixture(autouse=True)
def quiet_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("QMFA_DATABASE_URL", "QMFA_SECRET_KEY", "QMFA_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))


@pytest.fixture(autouse=True)
def cheap_hasher() -> Iterator[None]:
    """argon2id with tiny parameters: the same code path, a fraction of the time."""
    accounts.set_password_hasher(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    yield
    accounts.set_password_hasher(PasswordHasher())


@pytest.fixture
def umask_zero() -> Iterator[None]:
    """The most open umask there is: whatever is private was made so by qmfa."""
    old = os.umask(0)
    yield
    os.umask(old)


@pytest.fixture
def fixed_clock() -> Iterator[FakeClock]:
    fake = FakeClock()
    with clock.use_clock(fake):
        yield fake


# Set by .ci/run (which starts a throw-away PostgreSQL); see the README to run it locally.
POSTGRES_URL = os.environ.get("QMFA_TEST_POSTGRES_URL")
# Modules about SQLite files or driving screens and subprocesses run on SQLite only.
SQLITE_ONLY = ("test_storage", "test_tui_", "test_cli", "test_rfc_vectors", "test_snapshots")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" not in metafunc.fixturenames:
        return
    backends = ["sqlite"]
    if POSTGRES_URL and not metafunc.module.__name__.startswith(SQLITE_ONLY):
        backends.append("postgresql")
    metafunc.parametrize("backend", backends, scope="function")


def empty_postgres_schema(url: str) -> None:
    """Drop everything in the test database's public schema."""
    from playhouse.db_url import parse

    database = storage.database._postgresql_class()(**parse(url))
    with database:
        database.execute_sql("DROP SCHEMA IF EXISTS public CASCADE")
        database.execute_sql("CREATE SCHEMA public")


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "qmfa.db"


@pytest.fixture
def database_url(backend: str, db_path: Path) -> str:
    if backend == "postgresql":
        assert POSTGRES_URL is not None
        empty_postgres_schema(POSTGRES_URL)
        return POSTGRES_URL
    return f"sqlite:///{db_path}"


@pytest.fixture
def database(database_url: str, fixed_clock: FakeClock) -> Iterator[storage.OpenDatabase]:
    opened = storage.open_database(database_url)
    yield opened
    storage.close_database()
