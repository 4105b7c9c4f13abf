"""storage.bulk_insert: many rows in few statements, each row as peewee would store it."""

from __future__ import annotations

from datetime import datetime

from qmfa_tui import storage
from qmfa_tui.storage import Account, bulk_insert

FIELDS = (Account.username, Account.username_key, Account.created_at, Account.password_hash)


def test_rows_split_over_several_statements_are_each_stored_whole(database, monkeypatch):
    monkeypatch.setattr(storage.database, "MAX_ROWS_PER_INSERT", 3)  # 7 rows: 3 + 3 + 1
    at = datetime(2027, 1, 2, 3, 4, 5, 6)
    rows = [(f"bulk{n}", f"bulk{n}", at, None if n % 2 else f"hash{n}") for n in range(7)]
    bulk_insert(Account, FIELDS, rows)
    stored = list(
        Account.select(*FIELDS, Account.must_change_password, Account.active)
        .where(Account.username.startswith("bulk"))
        .order_by(Account.username)
        .tuples()
    )
    # The fields left out take their defaults, as with Account.create.
    assert stored == [(*row, False, True) for row in rows]


def test_no_rows_write_nothing(database):
    before = Account.select().count()
    bulk_insert(Account, FIELDS, [])
    assert Account.select().count() == before
