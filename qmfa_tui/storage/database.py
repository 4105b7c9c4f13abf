"""Opening a database by URL: SQLite (the default) or PostgreSQL. Connecting, pooling,
migrations and the translation of database errors; its key is ``sealing.load_key``'s."""

from __future__ import annotations

import functools
import math
import os
import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, NoReturn, ParamSpec, TypeVar
from urllib.parse import quote

import peewee
from playhouse.pool import (
    MaxConnectionsExceeded,
    PooledDatabase,
    PooledPostgresqlDatabase,
    PooledSqliteDatabase,
)

from qmfa_tui.database_url import (
    backend_of,
    postgresql_conninfo,
    postgresql_driver,
    redact,
    resolve_url,
    sqlite_file,
)
from qmfa_tui.errors import Conflict, DatabaseBusy, StorageError
from qmfa_tui.private_files import create_private_file, ensure_directory_for
from qmfa_tui.storage import sealing
from qmfa_tui.storage.models import db

BUSY_TIMEOUT_ENV = "QMFA_BUSY_TIMEOUT"
DEFAULT_BUSY_TIMEOUT_SECONDS = 10.0
MAX_BUSY_TIMEOUT_SECONDS = 3600.0
MIGRATIONS_DIR = Path(__file__).with_name("migrations")
# bulk_insert on a server: rows per INSERT, and PostgreSQL's limit on a statement's
# parameters (psycopg 3 binds them on the server).
MAX_ROWS_PER_INSERT = 1000
MAX_PARAMETERS = 65535

# Textual runs each thread worker in a new thread, and peewee keeps a connection per
# thread: without a pool every worker opened its own (the more costly the farther the
# server). A service call returns what it took (translate_errors).
# The pool's `timeout` is its wait for a free connection; SQLite's own is busy_timeout.
_POOL: dict[str, Any] = {"max_connections": 16, "stale_timeout": 600, "timeout": 10}

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True)
class OpenDatabase:
    """What is open now: the database, where its key came from, and the sealer."""

    url: str
    backend: str
    sqlite_path: Path | None
    key_file: Path | None
    sealer: sealing.Sealer

    @property
    def display_url(self) -> str:
        return redact(self.url)


class _NoKey(sealing.Sealer):
    """The sealer of a database opened without its key (``open_database(with_key=False)``):
    every use is refused, so nothing is sealed, opened or looked up by digest unkeyed."""

    def __init__(self) -> None:
        self.source = "no key"

    def _refuse(self) -> NoReturn:
        raise StorageError("The database was opened without its key: load_key() first.")

    def key_check(self) -> str:
        self._refuse()

    def opens(self, key_check: str) -> bool:
        self._refuse()

    def seal(self, plaintext: str, context: str) -> str:
        self._refuse()

    def unseal(self, sealed: str, context: str) -> str:
        self._refuse()

    def digest(self, value: str, context: str) -> str:
        self._refuse()


_current: OpenDatabase | None = None


def current() -> OpenDatabase:
    if _current is None:
        raise StorageError("No database is open.")
    return _current


def sealer() -> sealing.Sealer:
    return current().sealer


def is_sqlite() -> bool:
    return current().backend == "sqlite"


def open_database(
    url: str | None = None,
    *,
    key_file: str | Path | None = None,
    create: bool = True,
    migrate: bool = True,
    connect_timeout: float | None = None,
    statement_timeout: float | None = None,
    with_key: bool = True,
) -> OpenDatabase:
    """Open the database at ``url``, migrated to the current schema, and load its key.

    With ``create`` (``qmfa init``, ``qmfa demo``) a missing database, its schema and its
    key file are created. Without it only an existing qmfa database opens: a missing
    SQLite file, or a database without qmfa's schema, is refused with a message naming it,
    and nothing is created (no directory, file, table or key file). Every failure a person
    can cause or fix is raised as StorageError with a message naming the URL or file.

    Without ``migrate`` a database whose schema is not exactly this qmfa's (older or
    newer) is refused and left as it is. ``connect_timeout`` and ``statement_timeout``
    (seconds) bound PostgreSQL's connecting and each statement; on SQLite the statement
    timeout replaces the busy timeout.

    Without ``with_key`` the key is neither read nor checked (the PAM helper's steps that
    unseal nothing): the sealer refuses every use until ``load_key``.
    """
    global _current
    close_database()
    url = resolve_url(url)
    backend, database, sqlite_path = _connect(
        url, create, Timeouts(connect_timeout, statement_timeout)
    )
    db.initialize(database)
    try:
        if migrate:
            _migrate(database, url, create)
        elif not _schema_is_current(database):
            raise StorageError(
                f"The schema of {redact(url)} is not the one this qmfa uses (it is older "
                "or newer): run the qmfa that matches it, or `qmfa` once to upgrade it."
            )
        key_path: Path | None = None
        sealer: sealing.Sealer = _NoKey()
        if with_key:
            key_path, sealer = sealing.load_key(url, backend, sqlite_path, key_file, create)
    except BaseException:
        _close_all(database)
        raise
    _current = OpenDatabase(url, backend, sqlite_path, key_path, sealer)
    return _current


def load_key(key_file: str | Path | None = None) -> OpenDatabase:
    """Load and check the key of the database ``open_database(with_key=False)`` opened;
    StorageError (the database stays open, keyless) when it is missing or not its key."""
    global _current
    opened = current()
    key_path, sealer = sealing.load_key(
        opened.url, opened.backend, opened.sqlite_path, key_file, create=False
    )
    _current = replace(opened, key_file=key_path, sealer=sealer)
    return _current


def close_database() -> None:
    global _current
    if _current is not None:
        _close_all(db.obj)
    _current = None


def _close_all(database: peewee.Database) -> None:
    """Close every connection, the pooled ones of other threads included."""
    if isinstance(database, PooledDatabase):
        database.close_all()
    elif not database.is_closed():
        database.close()


NOTHING_THERE = "`qmfa init` creates one, `qmfa demo` one with demo users"


@dataclass(frozen=True)
class Timeouts:
    """Seconds to wait for a connection and for each statement; None: the defaults."""

    connect: float | None = None
    statement: float | None = None

    def postgresql_options(self) -> dict[str, Any]:
        options: dict[str, Any] = {}
        if self.connect is not None:
            options["connect_timeout"] = max(1, math.ceil(self.connect))  # libpq: whole s
        if self.statement is not None:
            options["options"] = f"-c statement_timeout={max(1, round(self.statement * 1000))}"
        return options


def _connect(
    url: str, create: bool, timeouts: Timeouts = Timeouts()
) -> tuple[str, peewee.Database, Path | None]:
    backend = backend_of(url)
    if backend is None:
        raise StorageError(
            f"Unsupported database URL {redact(url)!r}: use sqlite:///PATH or "
            "postgresql://USER@HOST/NAME."
        )
    try:
        if backend == "sqlite":
            path = sqlite_file(url)
            if str(path) == ":memory:":
                raise StorageError(
                    "An in-memory SQLite database is private to one thread; give a file path."
                )
            busy_timeout = _busy_timeout() if timeouts.statement is None else timeouts.statement
            if create:
                ensure_directory_for(path)
                _create_private_database_file(path)
            else:
                _check_existing_database_file(path)
                if _holds_qmfa_schema(path) is False:  # refused before a pragma writes to it
                    raise StorageError(
                        f"{redact(url)} holds no qmfa database yet: {NOTHING_THERE}."
                    )
            database = PooledSqliteDatabase(
                str(path),
                # A page cache of 512 KiB a connection instead of 2 MiB left counts and
                # pages at 100k users as fast.
                pragmas={
                    "journal_mode": "wal",
                    "foreign_keys": 1,
                    "cache_size": -512,
                    "busy_timeout": int(busy_timeout * 1000),
                },
                lock_type="IMMEDIATE",
                check_same_thread=False,  # a pooled connection serves one thread at a time
                **_POOL,
            )
            database.connect()
            return backend, database, path
        database = _postgresql_class()(
            postgresql_conninfo(url), **_POOL, **timeouts.postgresql_options()
        )
        database.connect()
        return backend, database, None
    except peewee.ImproperlyConfigured as error:
        raise StorageError(
            f"Cannot open {redact(url)}: the PostgreSQL driver is not installed "
            "(pip install 'qmfa[postgres]')."
        ) from error
    except (peewee.DatabaseError, ValueError) as error:
        message = f"Cannot open the database {redact(url)}: {_first_line(error)}"
        raise StorageError(message) from error


def _busy_timeout() -> float:
    """How long SQLite waits for another process's lock before giving up."""
    text = os.environ.get(BUSY_TIMEOUT_ENV, "").strip()
    if not text:
        return DEFAULT_BUSY_TIMEOUT_SECONDS
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not 0 <= seconds <= MAX_BUSY_TIMEOUT_SECONDS:  # also refuses nan and inf
        raise StorageError(
            f"${BUSY_TIMEOUT_ENV} is a number of seconds from 0 to {MAX_BUSY_TIMEOUT_SECONDS:.0f}."
        )
    return seconds


def _postgresql_class() -> type[peewee.Database]:
    """peewee's pooled database for the driver ``postgresql_driver`` picks: psycopg2 (the
    ``postgres`` extra) or psycopg 3. With neither, connecting says the driver is missing."""
    if postgresql_driver() == "psycopg":
        from playhouse.postgres_ext import PooledPsycopg3Database

        psycopg3_class: type[peewee.Database] = PooledPsycopg3Database
        return psycopg3_class
    psycopg2_class: type[peewee.Database] = PooledPostgresqlDatabase
    return psycopg2_class


def _create_private_database_file(path: Path) -> None:
    """Create a new database file empty and 0600 before SQLite opens it.

    SQLite would create it with the umask (0644 as a rule) and gives its -wal, -shm and
    -journal files, made later by whichever connection writes first, the mode of the
    main file: a private main file keeps them all private. An existing file is opened
    as it is.
    """
    try:
        create_private_file(path, b"")
    except FileExistsError:
        if not path.exists():
            raise StorageError(
                f"The database file {path} is a symbolic link to nothing; qmfa creates a "
                "new database only as a regular file of its own."
            ) from None
        _check_existing_database_file(path)
    except OSError as error:
        raise StorageError(f"Cannot create the database file {path}: {error.strerror}.") from error


def _check_existing_database_file(path: Path) -> None:
    """Refuse what is no database file: nothing there, a directory, a device or FIFO."""
    try:
        mode = path.stat().st_mode  # through a link: an existing database may be one
    except FileNotFoundError:
        raise StorageError(f"There is no database {path}: {NOTHING_THERE}.") from None
    except OSError:
        return  # SQLite says what is wrong
    if stat.S_ISDIR(mode):
        raise StorageError(f"The database file {path} is a directory.")
    if not stat.S_ISREG(mode):
        raise StorageError(f"The database file {path} is not a regular file.")


def _holds_qmfa_schema(path: Path) -> bool | None:
    """Whether the SQLite file has qmfa's migration history; None when it cannot be read.

    Asked with the standard library on a plain connection, which writes nothing (the
    pool's connections set WAL mode, which writes to the file).
    """
    import sqlite3

    try:
        connection = sqlite3.connect(
            f"file:{quote(str(path.resolve()))}?mode=rw", uri=True, timeout=_busy_timeout()
        )
    except sqlite3.Error:
        return None
    try:
        return bool(
            connection.execute(
                "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' "
                "AND name = 'schema_migration')"
            ).fetchone()[0]
        )
    except sqlite3.Error:
        return None  # not a database, or locked: opening it says so
    finally:
        connection.close()


MIGRATION_HISTORY_TABLE = "schema_migration"  # the Runner's default table_name


def _migrate(database: peewee.Database, url: str, create: bool) -> None:
    if not create and _schema_is_current(database):
        return
    from playhouse.migrations import MigrationError, Runner

    try:
        runner = Runner(database, directory=str(MIGRATIONS_DIR), table_name=MIGRATION_HISTORY_TABLE)
        status = runner.status()
        unknown = [migration.name for migration in status if migration.path is None]
        if unknown:
            raise StorageError(
                f"{redact(url)} was upgraded by a newer qmfa (migration "
                f"{', '.join(unknown)}, which this version does not know): "
                "run the newer qmfa, or restore a backup made before the upgrade."
            )
        if not create and not any(migration.applied for migration in status):
            raise StorageError(f"{redact(url)} holds no qmfa database yet: {NOTHING_THERE}.")
        runner.up()
    except (peewee.DatabaseError, MigrationError) as error:
        raise StorageError(
            f"Cannot prepare the schema of {redact(url)}: {_first_line(error)}"
        ) from error


def _schema_is_current(database: peewee.Database) -> bool:
    """Whether the history records exactly the migrations qmfa has, read in one query.

    The usual open, of a database this version already migrated, then needs none of
    the migration runner (playhouse.migrations and what it imports, in every process).
    Anything else (a pending or unknown migration, no history, an error) is for the
    runner to apply or explain.
    """
    files = {path.stem for path in MIGRATIONS_DIR.glob("[0-9]*.py")}
    try:  # peewee runs in autocommit: a failed query leaves no transaction behind
        if not database.table_exists(MIGRATION_HISTORY_TABLE):
            return False
        rows = database.execute_sql(f"SELECT name FROM {MIGRATION_HISTORY_TABLE}")
        applied = {name for (name,) in rows.fetchall()}
    except peewee.DatabaseError:
        return False
    return applied == files


def _first_line(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0]


def translate_errors(function: Callable[P, R]) -> Callable[P, R]:
    """The boundary of a service call: database failures inside ``function`` become
    messages fit to show, and a connection the call took from the pool goes back to it
    (a worker thread's first query takes one; the thread that opened the database keeps
    its own)."""

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        took_connection = _current is not None and db.is_closed()
        try:
            return function(*args, **kwargs)
        except MaxConnectionsExceeded as error:
            raise DatabaseBusy(
                "Every database connection is in use; try again in a moment."
            ) from error
        except peewee.IntegrityError as error:
            raise Conflict(
                "Someone else changed this at the same moment; look again and retry."
            ) from error
        except peewee.OperationalError as error:
            text = str(error).lower()
            if "locked" in text or "busy" in text:
                raise DatabaseBusy(
                    "The database is busy (locked by another process); try again in a moment."
                ) from error
            raise StorageError(f"The database failed: {_first_line(error)}") from error
        except peewee.DatabaseError as error:
            raise StorageError(f"The database failed: {_first_line(error)}") from error
        finally:
            if took_connection and not db.is_closed():
                db.close()

    return wrapper


def bulk_insert(
    model: type[peewee.Model], fields: Sequence[peewee.Field], rows: Sequence[Sequence[object]]
) -> None:
    """Insert many rows: peewee writes the SQL of one row, the rows go in few round trips.

    ``insert_many`` renders every value into one SQL string, which costs more than the
    database's work at demo sizes. SQLite (in the process) takes them through
    ``executemany``; a server takes many rows per statement (``MAX_ROWS_PER_INSERT``),
    since psycopg2's ``executemany`` waits for the server once a row. Fields left out
    take their (constant) defaults, which peewee appends after ``fields``.
    """
    if not rows:
        return
    if any(
        callable(field.default)
        for field in model._meta.sorted_fields
        if field not in fields and not field.primary_key
    ):
        raise ValueError("bulk_insert needs constant defaults for the fields it leaves out")
    sql, params = model.insert_many(rows[:1], fields).returning().sql()
    defaults = params[len(fields) :]
    converters: list[Callable[[Any], Any]] = [field.db_value for field in fields]
    values = [
        [*(convert(value) for convert, value in zip(converters, row, strict=True)), *defaults]
        for row in rows
    ]
    if is_sqlite():
        db.cursor().executemany(sql, values)
        return
    head, separator, one_row = sql.rpartition(" VALUES ")
    if not separator or not one_row.startswith("(") or not one_row.endswith(")"):
        raise ValueError(f"bulk_insert cannot batch {sql!r}")
    per_statement = max(1, min(MAX_ROWS_PER_INSERT, MAX_PARAMETERS // len(values[0])))
    cursor = db.cursor()
    for start in range(0, len(values), per_statement):
        chunk = values[start : start + per_statement]
        cursor.execute(
            f"{head} VALUES {', '.join([one_row] * len(chunk))}",
            [value for row in chunk for value in row],
        )
