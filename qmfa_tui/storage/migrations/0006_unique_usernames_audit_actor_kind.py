"""Usernames unique without case or Unicode form; the audit log says who acted: a person
or an operator command (and from which OS account and address).

- account.username_key: the username NFKC-normalized and case-folded, under a
  unique index, so ``admin``, ``Admin`` and full-width ``admin`` are one name. When the
  stored users already hold such a pair the migration refuses, naming them: which
  account is the real ``admin`` is the operator's call, not ours.
- audit_event.actor_kind ('person' | 'operator') and origin (for operator
  commands: the OS account and SSH client address). Earlier events are classified
  by actor_id, which a person's events always carried and the operator's never did.

A frozen copy of the key function: it must stay what it was when this ran.
"""

import unicodedata
from collections.abc import Iterable
from typing import cast

from peewee import SQL, AutoField, CharField, Database, IntegerField, Model, TextField, fn
from playhouse.migrate import SchemaMigrator
from playhouse.migrations import MigrationError

_SHOWN_GROUPS = 10


def _key(username: str) -> str:
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", username).casefold())


def up(migrator: SchemaMigrator, db: Database) -> None:
    class Account(Model):
        id = AutoField()
        username = CharField()
        username_key = TextField(null=True)

        class Meta:
            database = db
            table_name = "account"

    # peewee's stubs type .tuples() as yielding models; these are (id, username) rows.
    rows = list(
        cast(
            "Iterable[tuple[int, str]]",
            Account.select(Account.id, Account.username).order_by(Account.id).tuples(),
        )
    )
    groups: dict[str, list[tuple[int, str]]] = {}
    for account_id, username in rows:
        groups.setdefault(_key(username), []).append((account_id, username))
    colliding = [group for group in groups.values() if len(group) > 1]
    if colliding:
        raise MigrationError(_refusal(colliding))

    migrator.migrate(migrator.add_column("account", "username_key", TextField(null=True)))
    # One UPDATE gets ASCII names (all that qmfa ever created) right on most databases;
    # whatever the database's LOWER did otherwise (non-ASCII, a Turkish locale) is redone here.
    Account.update(username_key=fn.LOWER(Account.username)).execute()
    stored = dict(
        cast("Iterable[tuple[int, str]]", Account.select(Account.id, Account.username_key).tuples())
    )
    for account_id, username in rows:
        if stored[account_id] != _key(username):
            Account.update(username_key=_key(username)).where(Account.id == account_id).execute()
    migrator.migrate(
        migrator.add_not_null("account", "username_key"),
        migrator.add_index("account", ("username_key",), True),
        # NOT NULL with a constant default: one catalogue change on both backends, not a
        # rewrite of what may be a long log.
        migrator.add_column(
            "audit_event",
            "actor_kind",
            CharField(max_length=10, constraints=[SQL("DEFAULT 'person'")]),
            allow_not_null=True,
        ),
        migrator.add_column(
            "audit_event", "origin", TextField(constraints=[SQL("DEFAULT ''")]), allow_not_null=True
        ),
    )

    class AuditEvent(Model):
        actor_id = IntegerField(null=True)
        actor_kind = CharField()

        class Meta:
            database = db
            table_name = "audit_event"

    AuditEvent.update(actor_kind="operator").where(AuditEvent.actor_id.is_null()).execute()


def _refusal(colliding: list[list[tuple[int, str]]]) -> str:
    """One line (the open path shows only the first): every pair, ids to act on."""
    shown = "; ".join(
        " = ".join(f"{username!r} (id {account_id})" for account_id, username in group)
        for group in colliding[:_SHOWN_GROUPS]
    )
    more = len(colliding) - _SHOWN_GROUPS
    if more > 0:
        shown += f"; and {more} more"
    return (
        "usernames must differ by more than letter case or Unicode form, and these do "
        f"not: {shown}. Rename or remove all but one of each in the database, then open "
        "it again (qmfa will not guess which account is the real one)."
    )


def down(migrator: SchemaMigrator, db: Database) -> None:
    migrator.migrate(
        migrator.drop_column("audit_event", "origin"),
        migrator.drop_column("audit_event", "actor_kind"),
        migrator.drop_index("account", "account_username_key"),
        migrator.drop_column("account", "username_key"),
    )
