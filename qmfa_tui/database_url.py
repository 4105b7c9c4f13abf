"""Database URLs: which database a URL names, where the default one lives, how to show it.

This module imports no database library (``sqlite_has_users`` takes the standard sqlite3
when called), so the `qmfa` command can read a URL and decide what to import before
paying for peewee (see ``skip_unused_drivers``).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import SplitResult, urlsplit, urlunsplit

from qmfa_tui.errors import StorageError

if TYPE_CHECKING:
    import sqlite3

DATABASE_URL_ENV = "QMFA_DATABASE_URL"
_BACKENDS = {"sqlite": "sqlite", "postgres": "postgresql", "postgresql": "postgresql"}
# In qmfa's order of preference: psycopg2 is the ``postgres`` extra's (peewee's own
# PostgreSQL driver, half psycopg 3's memory in the process); psycopg 3 also works.
_POSTGRESQL_DRIVERS = ("psycopg2", "psycopg")
# What peewee imports for SQLite when it is first imported (pysqlite3 first, if installed).
_SQLITE_DRIVERS = ("pysqlite3", "sqlite3")


def data_dir() -> Path:
    """Where qmfa keeps its files unless told otherwise (the platform's user data dir)."""
    import platformdirs

    return platformdirs.user_data_path("qmfa", appauthor=False)


def default_url(name: str = "qmfa.db") -> str:
    return f"sqlite:///{data_dir() / name}"


def sqlite_has_users(path: Path) -> bool | None:
    """Whether the SQLite file at ``path`` holds any qmfa user; None when that cannot be read.

    A quick look with the standard library (never creating the file: mode=rw), made before
    the command decides which database to open.
    """
    import sqlite3
    from urllib.parse import quote

    try:
        connection = sqlite3.connect(
            f"file:{quote(str(path.resolve()))}?mode=rw", uri=True, timeout=1
        )
    except sqlite3.Error:
        return None
    try:
        return bool(connection.execute("SELECT EXISTS (SELECT 1 FROM account)").fetchone()[0])
    except sqlite3.Error:
        return False if _has_no_tables(connection) else None
    finally:
        connection.close()


def _has_no_tables(connection: sqlite3.Connection) -> bool:
    import sqlite3

    try:
        return connection.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0
    except sqlite3.Error:
        return False


def resolve_url(url: str | None) -> str:
    return url or os.environ.get(DATABASE_URL_ENV) or default_url()


def split(url: str) -> SplitResult:
    """The parts of a database URL, or StorageError naming what is wrong with it.

    The URL itself is not repeated: one that does not parse may hold a password.
    """
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - parsed lazily: a bad port raises only here
    except ValueError as error:
        raise StorageError(
            f"The database URL cannot be read ({error}): write it as "
            "sqlite:///PATH or postgresql://USER@HOST/NAME."
        ) from None
    return parts


def backend_of(url: str) -> str | None:
    """ "sqlite" or "postgresql", or None for a URL qmfa cannot open."""
    return _BACKENDS.get(split(url).scheme.lower())


def sqlite_file(url: str) -> Path:
    """The file of a sqlite URL: sqlite:///relative.db or sqlite:////absolute/path.db."""
    return Path(split(url).path[1:]).expanduser()


def postgresql_conninfo(url: str) -> str:
    """The URL as libpq reads it; libpq accepts both schemes, peewee hands on postgresql://."""
    return urlunsplit(split(url)._replace(scheme="postgresql"))


def redact(url: str) -> str:
    """The URL with any password replaced, fit for messages."""
    parts = split(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def postgresql_driver() -> str | None:
    """The PostgreSQL driver qmfa uses ("psycopg2" or "psycopg"), found without importing
    it; None when neither can be imported."""
    for name in _POSTGRESQL_DRIVERS:
        if importlib.util.find_spec(name) is not None:  # None too for a name marked absent
            return name
    return None


def skip_unused_drivers(url: str) -> None:
    """Keep the database drivers a process will not use unimported.

    peewee imports every driver it finds when it is first imported: psycopg2 or
    psycopg 3 (megabytes and milliseconds each) in a process that opens SQLite, or both
    in one that opens PostgreSQL, and sqlite3 there too.
    The `qmfa` command opens one database per process, so once it knows the URL it marks
    the drivers it will not use absent (a ``None`` entry in ``sys.modules`` makes
    ``import`` raise ImportError): for SQLite every PostgreSQL driver, for PostgreSQL
    sqlite3 and any driver but the one ``postgresql_driver`` picks. Nothing happens if
    peewee is already imported.

    No private name, but it leans on how peewee (written against 4.5.3, as
    ``textual_compat.PEEWEE_WRITTEN_FOR``) imports its drivers: each in a ``try``
    that takes an ImportError as "not installed" (tests/codebase/test_textual_contract.py).
    """
    backend = backend_of(url)
    if backend is None or "peewee" in sys.modules:
        return
    unused: tuple[str, ...] = _POSTGRESQL_DRIVERS
    if backend == "postgresql":
        chosen = postgresql_driver()
        unused = _SQLITE_DRIVERS + tuple(name for name in _POSTGRESQL_DRIVERS if name != chosen)
    for name in unused:
        # None is the documented "cannot be imported" entry, which typeshed does not allow.
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]
