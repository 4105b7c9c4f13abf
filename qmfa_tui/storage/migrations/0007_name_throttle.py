"""name_throttle: the password throttle of names that are nobody's account.

An existing account answers "Too many failed attempts" after a few wrong passwords;
a name that is nobody's never did, which told a guesser which names exist. Names
with no account are throttled on the same schedule here, keyed by a digest of the
name under the instance key (a password typed into the username field is never
stored), and forgotten a while after their last attempt.
"""

from peewee import CharField, Database, DoubleField, IntegerField, Model
from playhouse.migrate import SchemaMigrator


def up(migrator: SchemaMigrator, db: Database) -> None:
    class NameThrottle(Model):
        name_digest = CharField(max_length=64, unique=True)
        failures = IntegerField(default=0)
        locked_until = DoubleField(default=0.0)
        last_attempt = DoubleField(index=True)

        class Meta:
            database = db
            table_name = "name_throttle"

    db.create_tables([NameThrottle])


def down(migrator: SchemaMigrator, db: Database) -> None:
    db.execute_sql('DROP TABLE IF EXISTS "name_throttle"')
