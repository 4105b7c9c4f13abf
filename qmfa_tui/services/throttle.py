"""Per-user throttling of failed attempts, kept in the database so it holds across processes.

Security codes and recovery codes share one counter ("code"), so an attacker
cannot alternate between them; passwords have their own ("password").
"""

from __future__ import annotations

import math

from qmfa_tui.errors import Throttled
from qmfa_tui.storage import Throttle

CODE = "code"
PASSWORD = "password"
FREE_FAILURES = 2
MAX_DELAY_SECONDS = 15 * 60


def delay_after(failures: int) -> int:
    """Seconds the next try must wait after ``failures`` consecutive failures: 0, 0, 1, 2, 4..."""
    if failures <= FREE_FAILURES:
        return 0
    exponent = failures - FREE_FAILURES - 1
    return MAX_DELAY_SECONDS if exponent >= 10 else min(2**exponent, MAX_DELAY_SECONDS)


def check(account_id: int, kind: str, now: float) -> bool:
    """Raise Throttled if this user must still wait before trying ``kind`` again.

    Returns whether failures are on record, so a success only resets what exists.
    """
    locked_until = (Throttle.select(Throttle.locked_until)
                    .where(Throttle.account == account_id, Throttle.kind == kind)
                    .scalar())
    return check_lock(locked_until, now)


def check_lock(locked_until: float | None, now: float) -> bool:
    """``check`` for a throttle row's ``locked_until`` already read (None: no row)."""
    if locked_until and locked_until > now:
        raise Throttled(max(1, math.ceil(locked_until - now)))
    return locked_until is not None


def record_failure(account_id: int, kind: str, now: float) -> int:
    """Count one more failure (call inside the transaction that audits it); returns the count."""
    (Throttle.insert(account=account_id, kind=kind, failures=0, locked_until=0.0)
     .on_conflict_ignore()
     .execute())
    where = (Throttle.account == account_id) & (Throttle.kind == kind)
    Throttle.update(failures=Throttle.failures + 1).where(where).execute()
    failures = Throttle.select(Throttle.failures).where(where).scalar()
    Throttle.update(locked_until=now + delay_after(failures)).where(where).execute()
    return failures


def reset(account_id: int, kind: str, had_failures: bool = True) -> None:
    """Forget the failures of ``kind`` after a success (nothing to do if none were on record)."""
    if not had_failures:
        return
    (Throttle.delete()
     .where(Throttle.account == account_id, Throttle.kind == kind)
     .execute())
