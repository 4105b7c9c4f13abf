"""The first schema: accounts, devices, recovery codes, settings, audit, throttles.

A frozen copy of the models as they were when this migration was written, on
purpose independent of ``qmfa_tui.storage.models``.
"""

from peewee import (
    BigIntegerField,
    BooleanField,
    CharField,
    Database,
    DateTimeField,
    DoubleField,
    ForeignKeyField,
    IntegerField,
    Model,
    SmallIntegerField,
    TextField,
)
from playhouse.migrate import SchemaMigrator


def up(migrator: SchemaMigrator, db: Database) -> None:
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class Account(Base):
        username = CharField(max_length=150, unique=True)
        display_name = CharField(max_length=200, default="")
        email = CharField(max_length=254, default="", index=True)
        auth_source = CharField(max_length=10, default="local", index=True)
        role = CharField(max_length=10, default="user")
        users_module = BooleanField(default=False)
        active = BooleanField(default=True, index=True)
        password_hash = TextField(null=True)
        created_at = DateTimeField()

    class Device(Base):
        account = ForeignKeyField(Account, unique=True, on_delete="CASCADE")
        secret_sealed = TextField()
        algorithm = CharField(max_length=10, default="sha1")
        digits = SmallIntegerField(default=6)
        interval = SmallIntegerField(default=30)
        drift = IntegerField(default=0)
        last_step = BigIntegerField(default=0)
        registered_at = DateTimeField()

    class RecoveryCode(Base):
        device = ForeignKeyField(Device, on_delete="CASCADE")
        digest = CharField(max_length=64)
        code_sealed = TextField()
        position = SmallIntegerField()

        class Meta:
            indexes = ((("device", "digest"), True),)

    class InstanceSettings(Base):
        instance_name = CharField(max_length=100, default="qmfa")
        mandatory = BooleanField(default=False)
        deployment = CharField(max_length=10, default="on-prem")
        grace_period_hours = IntegerField(default=0)
        demo = BooleanField(default=False)
        key_check = TextField(null=True)

    class AuditEvent(Base):
        at = DateTimeField(index=True)
        actor = CharField(max_length=150)
        actor_id = IntegerField(null=True)
        target = CharField(max_length=150, null=True, index=True)
        target_id = IntegerField(null=True)
        action = CharField(max_length=50, index=True)
        detail = TextField(default="")

    class Throttle(Base):
        account = ForeignKeyField(Account, on_delete="CASCADE")
        kind = CharField(max_length=10)
        failures = IntegerField(default=0)
        locked_until = DoubleField(default=0.0)

        class Meta:
            indexes = ((("account", "kind"), True),)

    db.create_tables([Account, Device, RecoveryCode, InstanceSettings, AuditEvent, Throttle])
    InstanceSettings.insert(id=1).execute()


def down(migrator: SchemaMigrator, db: Database) -> None:
    for table in (
        "throttle",
        "audit_event",
        "instance_settings",
        "recovery_code",
        "device",
        "account",
    ):
        db.execute_sql(f'DROP TABLE IF EXISTS "{table}"')
