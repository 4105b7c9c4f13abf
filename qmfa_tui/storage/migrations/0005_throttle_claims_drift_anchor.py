"""throttle.throttled and device.drift_anchor.

- throttle.throttled counts the attempts refused while a user is locked out. The
  next attempt let through (or a success) writes them as one ``login.throttled``
  audit event and takes them off the counter, so a burst of thousands of refused
  attempts is one event with its exact count, not thousands of rows or none.
- device.drift_anchor is the drift the last resync (or the registration) set. A
  login may accept a code only within one step of it, so logins cannot walk the
  learned drift further and further ahead; existing devices anchor at their drift.
"""

from peewee import Database, IntegerField, Model
from playhouse.migrate import SchemaMigrator


def up(migrator: SchemaMigrator, db: Database) -> None:
    migrator.migrate(
        migrator.add_column("throttle", "throttled", IntegerField(default=0)),
        migrator.add_column("device", "drift_anchor", IntegerField(default=0)),
    )

    class Device(Model):
        drift = IntegerField()
        drift_anchor = IntegerField()

        class Meta:
            database = db
            table_name = "device"

    Device.update(drift_anchor=Device.drift).execute()


def down(migrator: SchemaMigrator, db: Database) -> None:
    migrator.migrate(
        migrator.drop_column("device", "drift_anchor"),
        migrator.drop_column("throttle", "throttled"),
    )
