"""Password throttles per account and source.

Wrong passwords for a user from one place held the user out from every other place
(and one attempt every 15 minutes kept them out for good). Now each source (a keyed
digest of the client's address, or of the OS account and terminal) has its own row
and growing delay, and remembers when it last logged in (``last_success``); the row
with source "" counts the failures from every source, for an account-wide ceiling
that holds only sources that have not logged in lately. Names that are nobody's get
the same shape. ``last_attempt`` lets idle password rows be forgotten.

The existing password rows become the ceiling's counters (their delays end here).
"""

import time

from peewee import CharField, Database, DoubleField, IntegerField, Model
from playhouse.migrate import SchemaMigrator


def up(migrator: SchemaMigrator, db: Database) -> None:
    migrator.migrate(
        migrator.add_column("throttle", "source", CharField(max_length=64, default="")),
        migrator.add_column("throttle", "last_attempt", DoubleField(default=0.0)),
        migrator.add_column("throttle", "last_success", DoubleField(default=0.0)),
        migrator.drop_index("throttle", "throttle_account_id_kind"),
        migrator.add_index("throttle", ("account_id", "kind", "source"), True),
        migrator.add_index("throttle", ("last_attempt",), False),
        migrator.add_column("name_throttle", "source", CharField(max_length=64, default="")),
        migrator.add_column("name_throttle", "throttled", IntegerField(default=0)),
        migrator.add_column("name_throttle", "last_success", DoubleField(default=0.0)),
        migrator.drop_index("name_throttle", "namethrottle_name_digest"),
        migrator.add_index("name_throttle", ("name_digest", "source"), True),
    )

    class Throttle(Model):
        kind = CharField()
        locked_until = DoubleField()
        last_attempt = DoubleField()

        class Meta:
            database = db
            table_name = "throttle"

    # Kept for the forgetting period from now, as an attempt now would keep them.
    Throttle.update(locked_until=0.0, last_attempt=time.time()).where(
        Throttle.kind == "password"
    ).execute()


def down(migrator: SchemaMigrator, db: Database) -> None:
    db.execute_sql('DELETE FROM "throttle" WHERE "source" <> \'\'')
    db.execute_sql('DELETE FROM "name_throttle" WHERE "source" <> \'\'')
    migrator.migrate(
        migrator.drop_index("name_throttle", "name_throttle_name_digest_source"),
        migrator.drop_column("name_throttle", "last_success"),
        migrator.drop_column("name_throttle", "throttled"),
        migrator.drop_column("name_throttle", "source"),
        migrator.drop_index("throttle", "throttle_last_attempt"),
        migrator.drop_index("throttle", "throttle_account_id_kind_source"),
        migrator.drop_column("throttle", "last_success"),
        migrator.drop_column("throttle", "last_attempt"),
        migrator.drop_column("throttle", "source"),
        migrator.add_index("throttle", ("account_id", "kind"), True),
        # Under 0007's name for it, the one ``up`` drops.
        migrator.add_index(
            "name_throttle", ("name_digest",), True, name="namethrottle_name_digest"
        ),
    )
