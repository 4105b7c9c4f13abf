"""account.must_change_password: the password was set by someone else (a reset).

Set when an admin or the operator sets a user's password (``accounts.set_password``),
cleared when the user chooses their own: their next login asks for a new password
after the second factor and before anything else (``login.choose_new_password``).
"""

from peewee import SQL, BooleanField, Database
from playhouse.migrate import SchemaMigrator


def up(migrator: SchemaMigrator, db: Database) -> None:
    migrator.migrate(
        migrator.add_column(
            "account",
            "must_change_password",
            BooleanField(default=False, constraints=[SQL("DEFAULT FALSE")]),
        )
    )


def down(migrator: SchemaMigrator, db: Database) -> None:
    migrator.migrate(migrator.drop_column("account", "must_change_password"))
