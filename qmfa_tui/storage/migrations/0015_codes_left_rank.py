"""account.codes_left_rank: the Users screen's Codes sort read from an index, at 100,000 users.

The Codes order counted each user's unused recovery codes with a correlated COUNT per
row, an order no index holds: a page sorted by Codes read and sorted the whole table,
90 ms on SQLite and 266 ms on PostgreSQL at 100,000 users (the next page 119 and 411 ms),
over the screen's 50 ms goal. This column keeps that count (0-8), or 9 without a device
(models.NO_DEVICE_RANK), in the transaction of every change of codes (registration,
removal, a recovery code used, the demo's bulk insert); an index on (codes_left_rank,
username) makes a page a seek and a walk of one page, as 0014 does for Created.

Existing rows are back-filled in one UPDATE from the recovery_code rows of each
account's device; accounts without a device keep the column's default.
"""

from peewee import SQL, Database, SmallIntegerField
from playhouse.migrate import SchemaMigrator

INDEX = "account_codes_left_rank_username"
NO_DEVICE_RANK = 9  # models.NO_DEVICE_RANK when this was written; a migration stands alone


def up(migrator: SchemaMigrator, db: Database) -> None:
    migrator.migrate(
        migrator.add_column(
            "account",
            "codes_left_rank",
            SmallIntegerField(
                default=NO_DEVICE_RANK, constraints=[SQL(f"DEFAULT {NO_DEVICE_RANK}")]
            ),
            # NOT NULL DEFAULT 9 in the one ADD COLUMN, which fills no row (PostgreSQL 11+
            # and SQLite keep the default in the schema), where peewee would then UPDATE
            # every row to 9 before the back-fill updates half of them again.
            allow_not_null=True,
        )
    )
    db.execute_sql(
        'UPDATE "account" SET "codes_left_rank" = ('
        'SELECT COUNT("recovery_code"."id") FROM "recovery_code" '
        'JOIN "device" ON "recovery_code"."device_id" = "device"."id" '
        'WHERE "device"."account_id" = "account"."id") '
        'WHERE EXISTS (SELECT 1 FROM "device" WHERE "device"."account_id" = "account"."id")'
    )
    migrator.migrate(migrator.add_index("account", ("codes_left_rank", "username"), False))


def down(migrator: SchemaMigrator, db: Database) -> None:
    migrator.migrate(migrator.drop_index("account", INDEX))
    migrator.migrate(migrator.drop_column("account", "codes_left_rank"))
