from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import peewee
import platformdirs
import pytest
from argon2 import PasswordHasher
from helpers import FakeClock

from qmfa_tui import storage
from qmfa_tui.services import accounts, clock

# The suite runs in parallel unless told otherwise (-n N, -n0, -p no:xdist, --pdb,
# PYTEST_XDIST_AUTO_NUM_WORKERS=N). In one process the suite idles a third of the time
# (the app's timers, subprocesses), so on 2 cores more workers than cores pay; worksteal
# evens out tests of uneven length (the measurements: docs/performance.md).
WORKERS = 4
DIST = "worksteal"


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> None:
    if not config.pluginmanager.hasplugin("xdist") or hasattr(config, "workerinput"):
        return  # no xdist, or this is one of its workers
    if os.environ.get("PYTEST_XDIST_WORKER"):  # a worker runs this hook too: no workers of its own
        return
    if config.option.numprocesses is None:
        config.option.numprocesses = "auto"
    if config.option.dist == "no" and not config.option.distload:
        config.option.dist = DIST


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked ``long`` first: started last, one would run on alone after the others."""
    items.sort(key=lambda item: item.get_closest_marker("long") is None)  # stable


@pytest.hookimpl(optionalhook=True)  # a hook of xdist's: unknown under -p no:xdist
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    return int(os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS") or WORKERS)


@pytest.fixture(autouse=True)
def quiet_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("QMFA_DATABASE_URL", "QMFA_SECRET_KEY", "QMFA_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    # Downloads and screenshots an app makes without being given a folder stay in the test.
    monkeypatch.setattr(platformdirs, "user_downloads_path", lambda: tmp_path / "Downloads")


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


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """The ``backend`` fixture: SQLite, and PostgreSQL too when the run has one, except for
    tests marked ``sqlite_only``: about SQLite files, or driving screens and subprocesses
    (whole folders mark theirs in their conftest.py, single modules with ``pytestmark``)."""
    if "backend" not in metafunc.fixturenames:
        return
    backends = ["sqlite"]
    if POSTGRES_URL and metafunc.definition.get_closest_marker("sqlite_only") is None:
        backends.append("postgresql")
    metafunc.parametrize("backend", backends, scope="function")


@contextmanager
def _postgres(url: str) -> Iterator[peewee.Database]:
    """One connection to ``url``, closed at the end (not kept in a pool), in autocommit."""
    from playhouse.db_url import parse

    database = storage.database._postgresql_class()(**parse(url))
    database.connect()
    try:
        yield database
    finally:
        database.close_all()  # type: ignore[attr-defined]


def empty_postgres_schema(url: str) -> None:
    """Drop everything in the test database's public schema."""
    with _postgres(url) as database, database.atomic():
        database.execute_sql("DROP SCHEMA IF EXISTS public CASCADE")
        database.execute_sql("CREATE SCHEMA public")


def worker_database_url(url: str, worker: str) -> str:
    """The URL of this pytest-xdist worker's own database, beside the one ``url`` names
    (``.../qmfa_test`` -> ``.../qmfa_test_gw0``), so workers never share a schema."""
    parts = urlsplit(url)
    name = f"{unquote(parts.path.lstrip('/'))}_{worker}"
    return urlunsplit(parts._replace(path="/" + quote(name)))


def _recreate_database(url: str, name: str, *, create: bool) -> None:
    quoted = '"' + name.replace('"', '""') + '"'
    with _postgres(url) as database:  # CREATE/DROP DATABASE cannot run in a transaction
        database.execute_sql(f"DROP DATABASE IF EXISTS {quoted}")
        if create:
            database.execute_sql(f"CREATE DATABASE {quoted}")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """The database the PostgreSQL half of the suite uses: the one named by
    QMFA_TEST_POSTGRES_URL in a one-process run; under pytest-xdist, a database of each
    worker's own, made on the same server at the start (left over ones are replaced) and
    dropped at the end."""
    assert POSTGRES_URL is not None
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker is None:
        yield POSTGRES_URL
        return
    url = worker_database_url(POSTGRES_URL, worker)
    name = unquote(urlsplit(url).path.lstrip("/"))
    try:
        _recreate_database(POSTGRES_URL, name, create=True)
    except peewee.DatabaseError as error:
        pytest.fail(
            f"Cannot make {name} for this test worker ({str(error).strip()}): "
            "QMFA_TEST_POSTGRES_URL must name a database that exists, as a role that may "
            "create databases (CREATEDB); or run in one process (-n0) on that database alone.",
            pytrace=False,
        )
    yield url
    _recreate_database(POSTGRES_URL, name, create=False)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "qmfa.db"


@pytest.fixture
def database_url(request: pytest.FixtureRequest, backend: str, db_path: Path) -> str:
    if backend == "postgresql":
        url: str = request.getfixturevalue("postgres_url")
        empty_postgres_schema(url)
        return url
    return f"sqlite:///{db_path}"


@pytest.fixture
def database(database_url: str, fixed_clock: FakeClock) -> Iterator[storage.OpenDatabase]:
    opened = storage.open_database(database_url)
    yield opened
    storage.close_database()
