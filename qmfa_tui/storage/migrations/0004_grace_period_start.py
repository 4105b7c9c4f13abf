"""account.grace_started_at: when a user's grace period for registering a device began.

Stored per user (set when mandatory 2FA is switched on, or at the first login
that needs a device), while the deadline is always computed from it and the
instance's current grace period, so changing the policy moves every deadline.
"""

from peewee import Database, DateTimeField
from playhouse.migrate import SchemaMigrator


def up(migrator: SchemaMigrator, db: Database) -> None:
    migrator.migrate(migrator.add_column("account", "grace_started_at", DateTimeField(null=True)))


def down(migrator: SchemaMigrator, db: Database) -> None:
    migrator.migrate(migrator.drop_column("account", "grace_started_at"))
