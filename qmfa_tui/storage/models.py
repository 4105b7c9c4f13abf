"""Peewee models of the current schema, bound to a proxy that ``open_database`` fills.

The schema itself is made by the numbered scripts in ``migrations/``; these
classes must describe what the newest migration leaves behind.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from peewee import (
    SQL,
    AutoField,
    BigIntegerField,
    BooleanField,
    CharField,
    DatabaseProxy,
    DateTimeField,
    DoubleField,
    ForeignKeyField,
    IntegerField,
    Model,
    SmallIntegerField,
    TextField,
)

from qmfa_tui.kinds import AuthSource, Deployment, Role

db = DatabaseProxy()

# account.codes_left_rank of a user without a device: one more than the 8 recovery codes a
# registration makes (services.recovery.CODE_COUNT), so the Codes sort puts them after every
# count of codes left (first when descending). Defined here, below the services that use it.
NO_DEVICE_RANK = 9


class BaseModel(Model):
    class Meta:
        database = db
        legacy_table_names = False


class Account(BaseModel):
    """A user of the instance. The smallest id is the first user registered."""

    id = AutoField()
    username = CharField(max_length=150, unique=True)
    # The username NFKC-normalized and case-folded (services.identity.username_key): no two
    # users share it, and logins and look-ups go through it (migration 0006).
    username_key = TextField(unique=True)
    display_name = CharField(max_length=200, default="")
    email = CharField(max_length=254, default="", index=True)
    auth_source = CharField(max_length=10, default=AuthSource.LOCAL.value)
    role = CharField(max_length=10, default=Role.USER.value)
    users_module = BooleanField(default=False)
    active = BooleanField(default=True)
    password_hash = TextField(null=True)
    created_at = DateTimeField()
    # Has a device: set with the device, in its transaction, for fast counts (migration 0003).
    two_factor = BooleanField(default=False)
    # The grace period (hours) this user keeps after it was shortened, their grace having
    # begun; NULL: the instance's current one (migration 0013, policy.set_grace_period).
    promised_grace_hours = IntegerField(null=True)
    # When this user's grace period for registering a device began (migration 0004).
    grace_started_at = DateTimeField(null=True)
    # The password was set by someone else: the next login chooses a new one (migration 0012).
    must_change_password = BooleanField(default=False, constraints=[SQL("DEFAULT FALSE")])
    # Unused recovery codes of the user's device (0-8), NO_DEVICE_RANK without one: kept in
    # the transaction of every change of codes, for the Users screen's Codes sort and filter
    # (migration 0015).
    codes_left_rank = SmallIntegerField(
        default=NO_DEVICE_RANK, constraints=[SQL(f"DEFAULT {NO_DEVICE_RANK}")]
    )

    class Meta:
        # Covers the Users screen's pages, counts and searches (migrations 0002, 0003).
        indexes = (
            (("username", "active", "auth_source", "two_factor", "display_name", "email"), False),
        )


class Device(BaseModel):
    """A user's registered authenticator (at most one per user)."""

    id = AutoField()
    account = ForeignKeyField(Account, unique=True, on_delete="CASCADE", backref="devices")
    if TYPE_CHECKING:  # the column peewee adds for the key; declared so the checker knows it
        account_id: ClassVar[IntegerField[int]]
    secret_sealed = TextField()
    algorithm = CharField(max_length=10, default="sha1")
    digits = SmallIntegerField(default=6)
    interval = SmallIntegerField(default=30)
    drift = IntegerField(default=0)
    last_step = BigIntegerField(default=0)
    registered_at = DateTimeField()
    # The drift the last resync or the registration set; logins stay within one step of
    # it (migration 0005).
    drift_anchor = IntegerField(default=0)


class RecoveryCode(BaseModel):
    """One unused recovery code; using it deletes the row."""

    id = AutoField()
    device = ForeignKeyField(Device, on_delete="CASCADE", backref="recovery_codes", index=False)
    if TYPE_CHECKING:
        device_id: ClassVar[IntegerField[int]]
    digest = CharField(max_length=64)
    code_sealed = TextField()
    position = SmallIntegerField()

    class Meta:
        indexes = ((("device", "digest"), True),)


class InstanceSettings(BaseModel):
    """The single row (id 1) of instance-wide settings."""

    id = AutoField()
    instance_name = CharField(max_length=100, default="qmfa")
    mandatory = BooleanField(default=False)
    deployment = CharField(max_length=10, default=Deployment.ON_PREM.value)
    grace_period_hours = IntegerField(default=0)
    demo = BooleanField(default=False)
    key_check = TextField(null=True)


class AuditEvent(BaseModel):
    """Who did what to whom. No foreign keys: events outlive the users they name."""

    id = AutoField()
    at = DateTimeField(index=True)
    actor = CharField(max_length=150)
    actor_id = IntegerField(null=True)
    target = CharField(max_length=150, null=True, index=True)
    target_id = IntegerField(null=True)
    action = CharField(max_length=50, index=True)
    detail = TextField(default="")
    # "person" (a logged-in user, or one at a login step) or "operator" (a command run from
    # the server's shell); for an operator, origin names the OS account and SSH client
    # (migration 0006).
    actor_kind = CharField(max_length=10, default="person", constraints=[SQL("DEFAULT 'person'")])
    origin = TextField(default="", constraints=[SQL("DEFAULT ''")])
    # A guarded login's host (``pam.*`` events), lower-cased; NULL for other events
    # (migration 0017, its partial index on host, at, id).
    host = CharField(max_length=253, null=True)


class Throttle(BaseModel):
    """Consecutive failures of one kind ("code" or "password") for one user.

    ``failures`` counts attempts let through and not (yet) succeeded: an attempt is
    counted before its verdict. ``throttled`` counts attempts refused while locked that
    are not yet in the audit log (migration 0005).

    Passwords are counted per source (migration 0011): a row per ``source`` (a keyed
    digest of where the attempts come from: services.throttle) holds that source's
    growing delay and when it last logged in (``last_success``); the row whose source
    is "" counts the failures from every source, for the account-wide ceiling. Codes
    have the one row, source "". ``last_attempt`` lets password rows be forgotten.
    """

    id = AutoField()
    account = ForeignKeyField(Account, on_delete="CASCADE", index=False)
    if TYPE_CHECKING:
        account_id: ClassVar[IntegerField[int]]
    kind = CharField(max_length=10)
    source = CharField(max_length=64, default="", constraints=[SQL("DEFAULT ''")])
    failures = IntegerField(default=0)
    locked_until = DoubleField(default=0.0)
    throttled = IntegerField(default=0)
    last_attempt = DoubleField(default=0.0, index=True)
    last_success = DoubleField(default=0.0)

    class Meta:
        indexes = ((("account", "kind", "source"), True),)


class NameThrottle(BaseModel):
    """The password throttle of a name that is nobody's account (migration 0007).

    Keyed by a keyed digest of the name (``Sealer.digest``): the typed name, which may
    be a password typed into the wrong field, is never stored. Shaped as an account's
    password rows (migration 0011: a row per source and the "" row for the ceiling), so
    that a name that is nobody's answers as an account would; ``last_success`` stays 0.
    """

    id = AutoField()
    name_digest = CharField(max_length=64)
    source = CharField(max_length=64, default="", constraints=[SQL("DEFAULT ''")])
    failures = IntegerField(default=0)
    locked_until = DoubleField(default=0.0)
    throttled = IntegerField(default=0)
    last_attempt = DoubleField(index=True)
    last_success = DoubleField(default=0.0)

    class Meta:
        indexes = ((("name_digest", "source"), True),)


ALL_MODELS: tuple[type[BaseModel], ...] = (
    Account,
    Device,
    RecoveryCode,
    InstanceSettings,
    AuditEvent,
    Throttle,
    NameThrottle,
)
