"""audit_event.host: a guarded login's host, lower-cased, for `qmfa audit --host` and the
audit tab's Host field.

The host filter matched the origin's first field with a LIKE ("host web1, %") among the
``pam.*`` events: the database read every guarded login and sorted them, a read that grew
with the log (SQLite, 1,000,000 events of which 300,000 guarded: 160-450 ms). A column
of its own, set by services.audit.record for those events only (NULL for the rest), and a
partial index on (host, at, id) make a page of one host a seek and a walk back
(docs/performance.md, bench/audit_reads.py).

Existing guarded logins are back-filled from their origins in one UPDATE: the text
between "host " and the first comma (services.guard keeps commas out of every field),
lower-cased as Python's str.lower does (SQLite's own lower() knows ASCII only, so the
migration lends it Python's; PostgreSQL's lower() follows the database's locale).
"""

from peewee import CharField, Database, PostgresqlDatabase
from playhouse.migrate import SchemaMigrator

INDEX = "audit_event_host_at_id"
GUARDED_LOGIN_EVENTS = "('pam.verified', 'pam.refused', 'pam.exempted', 'pam.failed')"
MAX_HOST = 253


def up(migrator: SchemaMigrator, db: Database) -> None:
    migrator.migrate(
        migrator.add_column("audit_event", "host", CharField(max_length=MAX_HOST, null=True))
    )
    if isinstance(db, PostgresqlDatabase):
        first_field = "split_part(substr(origin, 6), ',', 1)"
        lower = "lower"
    else:
        db.connection().create_function("qmfa_lower", 1, str.lower, deterministic=True)
        first_field = (
            "CASE WHEN instr(origin, ',') > 0 THEN substr(origin, 6, instr(origin, ',') - 6) "
            "ELSE substr(origin, 6) END"
        )
        lower = "qmfa_lower"
    db.execute_sql(
        f'UPDATE "audit_event" SET "host" = substr({lower}(trim({first_field})), 1, {MAX_HOST}) '
        f"WHERE action IN {GUARDED_LOGIN_EVENTS} AND origin LIKE {db.param}",
        ("host %",),  # a parameter: psycopg would read a literal % as its own
    )
    db.execute_sql(
        f'CREATE INDEX IF NOT EXISTS "{INDEX}" ON "audit_event" ("host", "at", "id") '
        'WHERE "host" IS NOT NULL'
    )


def down(migrator: SchemaMigrator, db: Database) -> None:
    db.execute_sql(f'DROP INDEX IF EXISTS "{INDEX}"')
    migrator.migrate(migrator.drop_column("audit_event", "host"))
