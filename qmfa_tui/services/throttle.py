"""Per-user throttling of failed attempts, kept in the database so it holds across processes.

Security codes and recovery codes share one counter ("code"), so an attacker
cannot alternate between them; passwords have their own ("password").

An attempt is counted before its verdict is known: ``claim`` lets it through and
counts it as a failure in one conditional statement (an upsert whose WHERE is "not
locked now"), so each attempt let through moves the lock before the next one can
pass, however many processes guess at once; a success then ``reset``s the count.
An attempt refused while locked is counted in ``throttled``, and each burst of
refusals becomes one ``login.throttled`` audit event, written by the next attempt
let through or the next success.
"""

from __future__ import annotations

import math

from peewee import Case, Expression, Field, Value

from qmfa_tui.errors import Throttled
from qmfa_tui.services import audit
from qmfa_tui.storage import Account, NameThrottle, Prepared, Throttle, db, sealer

CODE = "code"
PASSWORD = "password"
FREE_FAILURES = 2
MAX_DELAY_SECONDS = 15 * 60
# A name that is nobody's account is forgotten this long after its last attempt.
FORGET_UNKNOWN_NAME_SECONDS = 30 * 24 * 3600
_NOUNS = {CODE: "code", PASSWORD: "password"}


def delay_after(failures: int) -> int:
    """Seconds the next try must wait after ``failures`` consecutive failures: 0, 0, 1, 2, 4..."""
    if failures <= FREE_FAILURES:
        return 0
    exponent = failures - FREE_FAILURES - 1
    return MAX_DELAY_SECONDS if exponent >= 10 else min(2**exponent, MAX_DELAY_SECONDS)


def _delay_after_one_more(failures_column: Field) -> Case:
    """``delay_after(failures + 1)`` in SQL, for the row's current ``failures``."""
    cases, failures = [], 0
    while delay_after(failures + 1) < MAX_DELAY_SECONDS:
        cases.append((failures, delay_after(failures + 1)))
        failures += 1
    return Case(failures_column, cases, MAX_DELAY_SECONDS)


def _this_row(account_id: int, kind: str) -> Expression:
    return (Throttle.account == account_id) & (Throttle.kind == kind)


# Let one attempt through and count it, if the user is not locked at ``now``. Returns
# the row (its refusals not yet audited) when let through, nothing when locked.
_CLAIM = Prepared(
    lambda account_id, kind, now: (
        Throttle.insert(
            account=account_id,
            kind=kind,
            failures=1,
            locked_until=Value(now) + delay_after(1),
            throttled=0,
        )
        .on_conflict(
            conflict_target=[Throttle.account, Throttle.kind],
            update={
                Throttle.failures: Throttle.failures + 1,
                Throttle.locked_until: Value(now) + _delay_after_one_more(Throttle.failures),
            },
            where=(Throttle.locked_until <= now),
        )
        .returning(Throttle.throttled)
    ),
    int,
    str,
    float,
)
# Count one refused attempt; returns until when the lock lasts.
_REFUSE = Prepared(
    lambda account_id, kind, now: (
        Throttle.update(throttled=Throttle.throttled + 1)
        .where(_this_row(account_id, kind), Throttle.locked_until > now)
        .returning(Throttle.locked_until)
    ),
    int,
    str,
    float,
)
_RESET = Prepared(
    lambda account_id, kind: (
        Throttle.update(failures=0, locked_until=0.0)
        .where(_this_row(account_id, kind))
        .returning(Throttle.throttled)
    ),
    int,
    str,
)


def claim(account: Account, kind: str, now: float) -> int | None:
    """Let this attempt through, counted as a failure until a ``reset``, or refuse it.

    Call it inside the transaction that acts on the attempt's verdict (or use
    ``admit``). Returns None when the attempt may go on; when it is refused, the
    seconds to wait: the refusal is counted, and the caller lets the transaction
    commit and then raises Throttled.
    """
    for _ in range(3):
        rows = _CLAIM.execute(account.id, kind, now).fetchall()
        if rows:
            _end_burst(account, kind, rows[0][0])
            return None
        rows = _REFUSE.execute(account.id, kind, now).fetchall()
        if rows:
            locked_until: float = rows[0][0]
            return max(1, math.ceil(locked_until - now))
        # A success ended the lock between the two statements: try to claim again.
    return 1


def admit(account: Account, kind: str, now: float) -> None:
    """``claim`` in a transaction of its own; raises Throttled when refused."""
    with db.atomic():
        wait = claim(account, kind, now)
    if wait is not None:
        raise Throttled(wait)


def reset(account: Account, kind: str) -> None:
    """Forget the failures of ``kind`` after a success (inside the success's transaction)."""
    rows = _RESET.execute(account.id, kind).fetchall()
    if rows:
        _end_burst(account, kind, rows[0][0])


def _end_burst(account: Account, kind: str, refused: int) -> None:
    """Write the refusals since the last event as one event, and take them off the count."""
    if not refused:
        return
    Throttle.update(throttled=Throttle.throttled - refused).where(
        _this_row(account.id, kind)
    ).execute()
    attempts = "attempt" if refused == 1 else "attempts"
    audit.record(
        account,
        "login.throttled",
        target=account,
        detail=f"{refused} {_NOUNS.get(kind, kind)} {attempts} refused while locked",
    )


# Names that are nobody's account: the same schedule, so that "Too many failed attempts"
# does not tell a guesser which names exist. Nothing succeeds for such a name, so its
# count only grows until the row is forgotten.
_CLAIM_NAME = Prepared(
    lambda digest, now: (
        NameThrottle.insert(
            name_digest=digest,
            failures=1,
            last_attempt=Value(now),
            locked_until=Value(now) + delay_after(1),
        )
        .on_conflict(
            conflict_target=[NameThrottle.name_digest],
            update={
                NameThrottle.failures: NameThrottle.failures + 1,
                NameThrottle.last_attempt: Value(now),
                NameThrottle.locked_until: Value(now)
                + _delay_after_one_more(NameThrottle.failures),
            },
            where=(NameThrottle.locked_until <= now),
        )
        .returning(NameThrottle.failures)
    ),
    str,
    float,
)
_NAME_LOCK = Prepared(
    lambda digest: NameThrottle.select(NameThrottle.locked_until).where(
        NameThrottle.name_digest == digest
    ),
    str,
)
_FORGET_NAMES = Prepared(
    lambda before: NameThrottle.delete().where(NameThrottle.last_attempt < before), float
)


def admit_unknown_name(name: str, now: float) -> None:
    """``admit`` for a password attempt on a name that is nobody's account (not audited:
    there is nobody to file it under). Raises Throttled as an account's would."""
    digest = sealer().digest(name, "unknown-login-name")
    with db.atomic():
        _FORGET_NAMES.execute(now - FORGET_UNKNOWN_NAME_SECONDS)
        let_through = _CLAIM_NAME.execute(digest, now).fetchall()
        locked_until = None if let_through else _NAME_LOCK.execute(digest).fetchone()[0]
    if locked_until is not None:
        raise Throttled(max(1, math.ceil(locked_until - now)))
