"""account.promised_grace_hours: a grace period already given is never taken back.

The deadline was computed from ``grace_started_at`` and the instance's current grace
period, so shortening the period (24 h, then 0) took back a deadline a user had been
told. Now a shortened period leaves each user whose grace had begun the hours in
force before (this column); NULL means the current period applies, as before, so
existing rows need no value.
"""

from peewee import Database, IntegerField
from playhouse.migrate import SchemaMigrator


def up(migrator: SchemaMigrator, db: Database) -> None:
    migrator.migrate(
        migrator.add_column("account", "promised_grace_hours", IntegerField(null=True))
    )


def down(migrator: SchemaMigrator, db: Database) -> None:
    migrator.migrate(migrator.drop_column("account", "promised_grace_hours"))
