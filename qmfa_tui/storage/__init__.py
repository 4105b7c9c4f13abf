"""Storage: peewee models, opening a database by URL, migrations, sealing of secrets.

Nothing here imports Textual or the services.
"""

from qmfa_tui.storage.database import (
    OpenDatabase,
    bulk_insert,
    close_database,
    current,
    is_sqlite,
    open_database,
    sealer,
    translate_errors,
)
from qmfa_tui.storage.models import (
    Account,
    AuditEvent,
    Device,
    InstanceSettings,
    NameThrottle,
    RecoveryCode,
    Throttle,
    db,
)
from qmfa_tui.storage.prepared import Prepared

__all__ = [
    "Account",
    "AuditEvent",
    "Device",
    "InstanceSettings",
    "NameThrottle",
    "OpenDatabase",
    "Prepared",
    "RecoveryCode",
    "Throttle",
    "bulk_insert",
    "close_database",
    "current",
    "db",
    "is_sqlite",
    "open_database",
    "sealer",
    "translate_errors",
]
