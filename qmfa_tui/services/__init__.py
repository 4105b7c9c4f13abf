"""The rules of qmfa in plain Python: no Textual here (a test checks it).

Modules: login, accounts, identity, twofactor, recovery, policy, directory, audit,
throttle, session, clock, demo.
"""

from qmfa_tui.errors import (
    AuthenticationFailed,
    BadInput,
    CodeAlreadyUsed,
    Conflict,
    DatabaseBusy,
    NotFound,
    NotPermitted,
    QmfaError,
    StorageError,
    Throttled,
)

__all__ = [
    "AuthenticationFailed",
    "BadInput",
    "CodeAlreadyUsed",
    "Conflict",
    "DatabaseBusy",
    "NotFound",
    "NotPermitted",
    "QmfaError",
    "StorageError",
    "Throttled",
]
