"""The key check becomes an HMAC of the standard library (no schema change).

``instance_settings.key_check`` held a fixed text sealed with AES-GCM, so loading the
key imported cryptography (~6.5 MiB) before the login screen could be used. It now
holds an HMAC-SHA256 keyed with the instance key ("h1." + hex). A migration has no
key, so the old check is replaced the first time the right key opens the database
(``sealing.load_key``). This migration marks the change: a qmfa from before it, which
would read an HMAC check as a wrong key, refuses the database as upgraded by a newer
qmfa instead.
"""

from peewee import Database
from playhouse.migrate import SchemaMigrator


def up(migrator: SchemaMigrator, db: Database) -> None:
    """Nothing to change in the schema; see the module's text."""


def down(migrator: SchemaMigrator, db: Database) -> None:
    """A check already in the HMAC form stays: an older qmfa then reports a wrong key."""
