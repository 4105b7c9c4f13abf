"""Indexes for the Users screen's sorts by Created and (PostgreSQL) by 2FA, at 100,000 users.

A page sorted by a column is ``ORDER BY column, username`` from a row-value position
(services.directory). By Created, without an index, each page read and sorted the whole
table (15-30 ms on SQLite); an index in that order makes it a seek and a walk of one
page (1-2 ms), on SQLite and PostgreSQL.

By 2FA, on PostgreSQL only (as 0009): there a page read the table (25-40 ms) and the
index makes it ~1 ms, the counts unchanged. On SQLite an index led by the 2FA flag,
which half the users share, was taken by the planner for every 2FA filter: counts and
searches went from the covering username index of 0002 (8-27 ms) to 60-70 ms (0002
dropped flag indexes for the same reason); without it a page sorted by 2FA takes
15-20 ms. Username has the unique username index; the Codes sort counts each user's
codes, an order no index holds.
"""

from peewee import Database, PostgresqlDatabase
from playhouse.migrate import SchemaMigrator

CREATED = "account_created_at_username"
TWO_FACTOR = "account_two_factor_username"


def up(migrator: SchemaMigrator, db: Database) -> None:
    migrator.migrate(migrator.add_index("account", ("created_at", "username"), False))
    if isinstance(db, PostgresqlDatabase):
        db.execute_sql(
            f'CREATE INDEX IF NOT EXISTS "{TWO_FACTOR}" ON "account" ("two_factor", "username")'
        )


def down(migrator: SchemaMigrator, db: Database) -> None:
    if isinstance(db, PostgresqlDatabase):
        db.execute_sql(f'DROP INDEX IF EXISTS "{TWO_FACTOR}"')
    migrator.migrate(migrator.drop_index("account", CREATED))
