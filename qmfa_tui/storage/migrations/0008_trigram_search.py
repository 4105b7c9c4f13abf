"""Trigram indexes for the Users search on PostgreSQL (pg_trgm); nothing on SQLite.

The search matches a substring of the username, the name or the email
(``ILIKE '%text%'``, user_filter.conditions): no B-tree serves that, so at 100,000
users each search read the whole table (~180 ms). A GIN trigram index per column
serves ILIKE as it is written, and the three conditions' OR becomes a BitmapOr of
the three indexes. SQLite's LIKE has no such index; its search walks the covering
username index of 0002.

pg_trgm ships with PostgreSQL (the contrib package) and is a trusted extension
(PostgreSQL 13+): the owner of the database, or anyone with CREATE on it, may
create it. When it cannot be created the upgrade is refused with a message saying
what to run, rather than applied without the indexes: a database without them
still searches correctly but takes as long as before, with nowhere that says why,
and this migration would never run again to add them.
"""

from peewee import Database, DatabaseError, PostgresqlDatabase
from playhouse.migrate import SchemaMigrator

from qmfa_tui.errors import StorageError

COLUMNS = ("username", "display_name", "email")


def _is_postgresql(db: Database) -> bool:
    return isinstance(db, PostgresqlDatabase)


def up(migrator: SchemaMigrator, db: Database) -> None:
    if not _is_postgresql(db):
        return
    try:
        with db.atomic():  # a savepoint: the error is ours to report, not the transaction's
            db.execute_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except DatabaseError as error:
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise StorageError(
            f"Cannot create the PostgreSQL extension pg_trgm, which the Users search "
            f"needs ({reason}): the database's owner or a superuser runs "
            f"`CREATE EXTENSION pg_trgm;` in qmfa's database (it ships in "
            "postgresql-contrib), then qmfa upgrades it on its next start."
        ) from error
    for column in COLUMNS:
        db.execute_sql(
            f'CREATE INDEX IF NOT EXISTS "account_{column}_trigram" '
            f'ON "account" USING gin ("{column}" gin_trgm_ops)'
        )


def down(migrator: SchemaMigrator, db: Database) -> None:
    if not _is_postgresql(db):
        return
    for column in COLUMNS:
        db.execute_sql(f'DROP INDEX IF EXISTS "account_{column}_trigram"')
