from __future__ import annotations

from pathlib import Path

import pytest
from helpers import run_python

from qmfa_tui import database_url, storage


def test_sqlite_paths_follow_the_slashes():
    assert database_url.sqlite_file("sqlite:///relative.db") == Path("relative.db")
    assert database_url.sqlite_file("sqlite:////srv/qmfa/qmfa.db") == Path("/srv/qmfa/qmfa.db")
    assert database_url.sqlite_file("sqlite:///~/qmfa.db") == Path.home() / "qmfa.db"


def test_backends_by_scheme():
    assert database_url.backend_of("sqlite:///x.db") == "sqlite"
    assert database_url.backend_of("postgres://qa@db/qmfa") == "postgresql"
    assert database_url.backend_of("PostgreSQL://qa@db/qmfa") == "postgresql"
    assert database_url.backend_of("mysql://qa@db/qmfa") is None
    assert database_url.backend_of("qmfa.db") is None


def test_both_postgresql_schemes_reach_libpq_as_postgresql():
    assert database_url.postgresql_conninfo("postgres://qa:pw@db:5433/qmfa?sslmode=require") == (
        "postgresql://qa:pw@db:5433/qmfa?sslmode=require"
    )


def needs_a_postgresql_driver() -> str:
    driver = database_url.postgresql_driver()
    if driver is None:
        pytest.skip("no PostgreSQL driver installed (the postgres extra)")
    return driver


def test_the_qmfa_command_on_sqlite_never_imports_a_postgresql_driver(tmp_path):
    needs_a_postgresql_driver()
    url = f"sqlite:///{tmp_path / 'q.db'}"
    storage.open_database(url)  # `users list` opens an existing database only
    storage.close_database()
    program = (
        "import sys\n"
        "from qmfa_tui import cli\n"
        f"assert cli.main(['--database', {url!r}, 'users', 'list']) == 0\n"
        "print(sorted(name for name, module in sys.modules.items()\n"
        "             if name.startswith('psycopg') and module is not None))\n"
    )
    assert run_python(program).splitlines()[-1] == "[]"


def test_a_postgresql_url_keeps_its_driver_and_no_other():
    driver = needs_a_postgresql_driver()
    program = (
        "import sys\n"
        "from qmfa_tui import database_url\n"
        "database_url.skip_unused_drivers('postgresql://qa@db/qmfa')\n"
        "import peewee\n"
        "print(sorted(name for name in ('psycopg', 'psycopg2', 'sqlite3')\n"
        "             if getattr(peewee, name) is not None))\n"
    )
    assert run_python(program) == str([driver])


def test_psycopg2_is_the_driver_when_both_are_installed():
    pytest.importorskip("psycopg2")
    pytest.importorskip("psycopg")
    assert database_url.postgresql_driver() == "psycopg2"
    from playhouse.pool import PooledPostgresqlDatabase

    assert storage.database._postgresql_class() is PooledPostgresqlDatabase
