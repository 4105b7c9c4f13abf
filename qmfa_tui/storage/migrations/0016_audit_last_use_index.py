"""An index for a user's last guarded login: (target_id, action, at, id) on audit_event.

My Account and User Edit's Security tab show when a user's second factor last let them
in through PAM (services.guard.last_verified): the newest ``pam.verified`` event of one
account. With only the action index, SQLite read every ``pam.verified`` event of every
user and sorted them, a read that grew with the whole log; PostgreSQL walked the ``at``
index back until it met one of the user's. With this index both seek to the account
and action and take its newest entry, whatever the log's size (the figures:
docs/performance.md, bench/audit_reads.py).
"""

from peewee import Database
from playhouse.migrate import SchemaMigrator

INDEX = "audit_event_target_id_action_at_id"


def up(migrator: SchemaMigrator, db: Database) -> None:
    migrator.migrate(migrator.add_index("audit_event", ("target_id", "action", "at", "id"), False))


def down(migrator: SchemaMigrator, db: Database) -> None:
    migrator.migrate(migrator.drop_index("audit_event", INDEX))
