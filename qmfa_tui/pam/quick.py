"""The `exempt` step's quick answer for the usual case: this user has a device, so a code
is needed. Read with the database driver alone (the standard sqlite3, or the PostgreSQL
driver qmfa uses), without peewee, the services or the key: a login then pays for one
full helper start (``verify``), not two.

It can only refuse the exemption. Its "yes, a device" sends the stack on to ask for the
code, which ``verify`` checks with every rule; "no device", "unsure" and any error all
go to the full check (services.guard.exemption), the only code that can exempt anyone.
"""

from __future__ import annotations

import math
from typing import Any

from qmfa_tui.database_url import (
    backend_of,
    postgresql_conninfo,
    postgresql_driver,
    sqlite_file,
)
from qmfa_tui.services.identity import username_key

# The models' tables (storage.models: account.username_key unique, device.account_id).
_HAS_DEVICE = (
    "SELECT 1 FROM device JOIN account ON account.id = device.account_id "
    "WHERE account.username_key = {}"
)


def has_device(
    url: str, username: str, *, connect_timeout: float, statement_timeout: float
) -> bool:
    """Whether ``username``'s qmfa account (by the app's username key) has a device;
    False when that cannot be told (no such account, any error): the full check decides."""
    if "\x00" in username or len(username) > 1000:
        return False
    key = username_key(username.strip())
    try:
        backend = backend_of(url)
        if backend == "sqlite":
            return _sqlite_has_device(url, key, statement_timeout)
        if backend == "postgresql":
            return _postgresql_has_device(url, key, connect_timeout, statement_timeout)
    except Exception:  # the full check opens the database again and says what is wrong
        return False
    return False


def _sqlite_has_device(url: str, key: str, timeout: float) -> bool:
    import sqlite3
    from urllib.parse import quote

    path = sqlite_file(url)
    # mode=ro: never creates the file, never writes; the full check refuses a missing one.
    connection = sqlite3.connect(
        f"file:{quote(str(path.resolve()))}?mode=ro", uri=True, timeout=timeout
    )
    try:
        return connection.execute(_HAS_DEVICE.format("?"), (key,)).fetchone() is not None
    finally:
        connection.close()


def _postgresql_has_device(
    url: str, key: str, connect_timeout: float, statement_timeout: float
) -> bool:
    import importlib

    name = postgresql_driver()  # psycopg2 or psycopg 3: both take conninfo and these options
    if name is None:
        return False
    driver: Any = importlib.import_module(name)
    connection = driver.connect(
        postgresql_conninfo(url),
        connect_timeout=max(1, math.ceil(connect_timeout)),  # libpq: whole seconds
        options=f"-c statement_timeout={max(1, round(statement_timeout * 1000))}",
    )
    try:
        with connection.cursor() as cursor:
            cursor.execute(_HAS_DEVICE.format("%s"), (key,))
            return cursor.fetchone() is not None
    finally:
        connection.close()
