"""PostgreSQL: an index for the Users screen's counts and the mandatory modal's.

A count of the users a filter means (active, 2FA on or off, an auth source) read the
whole table on PostgreSQL: 16-22 ms at 100,000 users, a third of the 2FA filter's
time on screen. An index on the three flags answers it from the index alone
(index-only scan: 4-11 ms). SQLite answers those counts from the covering username
index of 0002, and its planner chose a flag index over that index's username order
for pages (0002 dropped one): nothing on SQLite.
"""

from peewee import Database, PostgresqlDatabase
from playhouse.migrate import SchemaMigrator

NAME = "account_active_two_factor_auth_source"


def up(migrator: SchemaMigrator, db: Database) -> None:
    if isinstance(db, PostgresqlDatabase):
        columns = '"active", "two_factor", "auth_source"'
        db.execute_sql(f'CREATE INDEX IF NOT EXISTS "{NAME}" ON "account" ({columns})')


def down(migrator: SchemaMigrator, db: Database) -> None:
    if isinstance(db, PostgresqlDatabase):
        db.execute_sql(f'DROP INDEX IF EXISTS "{NAME}"')
