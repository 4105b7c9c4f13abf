"""Throttling of failed attempts, kept in the database so it holds across processes.

Security codes and recovery codes share one counter per user ("code"), so an
attacker cannot alternate between them; only someone with the password gets there.

Passwords are counted per user *and source* (where the attempt comes from:
``audit.attempt_source``, stored as a keyed digest): each source has its own growing
delay, so wrong passwords from one place never hold the owner out from another. An
account-wide ceiling (NIST SP 800-63B: at most ``ACCOUNT_CEILING`` consecutive
failures) then holds every source that has not logged in to the account within
``TRUSTED_SOURCE_SECONDS``; a source that has is never held by it. The ceiling ends
with a success, an admin's ``unlock``, or ``FORGET_SECONDS`` without any attempt.
Names that are nobody's account get the very same rows and answers.

An attempt is counted before its verdict is known: ``claim`` lets it through and
counts it as a failure in one conditional statement (an upsert whose WHERE is "not
locked now"), so each attempt let through moves the lock before the next one can
pass, however many processes guess at once; a success then ``reset``s the count.
An attempt refused while locked is counted in ``throttled``, and each burst of
refusals becomes one ``login.throttled`` audit event (with how many sources, for a
password), written by the next attempt let through or the next success.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast

from peewee import Case, Expression, Field, Value

from qmfa_tui.errors import LockedOut, Throttled
from qmfa_tui.services import audit, policy
from qmfa_tui.services.session import Actor
from qmfa_tui.storage import (
    Account,
    NameThrottle,
    Prepared,
    Throttle,
    db,
    sealer,
    translate_errors,
)

CODE = "code"
PASSWORD = "password"
FREE_FAILURES = 2
MAX_DELAY_SECONDS = 15 * 60
# NIST SP 800-63B 5.2.2: no more than 100 consecutive failed attempts on one account.
ACCOUNT_CEILING = 100
# A source that logged in to an account this recently is never held by its ceiling.
TRUSTED_SOURCE_SECONDS = 30 * 24 * 3600
# Password rows (a name's that is nobody's, an account's sources and ceiling) are
# forgotten this long after their last attempt; a trusted source's with its trust.
FORGET_SECONDS = 30 * 24 * 3600
FORGET_UNKNOWN_NAME_SECONDS = FORGET_SECONDS
ALL_SOURCES = ""  # the source of the rows that count every source: the ceiling, codes
# How many sources a burst's audit event names (short digests), of however many.
SOURCES_NAMED = 5
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
    return (
        (Throttle.account == account_id)
        & (Throttle.kind == kind)
        & (Throttle.source == ALL_SOURCES)
    )


# Let one attempt through and count it, if the user is not locked at ``now``. Returns
# the row (its refusals not yet audited) when let through, nothing when locked.
_CLAIM = Prepared(
    lambda account_id, kind, now: (
        Throttle.insert(
            account=account_id,
            kind=kind,
            source=ALL_SOURCES,
            failures=1,
            locked_until=Value(now) + delay_after(1),
            throttled=0,
        )
        .on_conflict(
            conflict_target=[Throttle.account, Throttle.kind, Throttle.source],
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
    """Let this code attempt through, counted as a failure until a ``reset``, or refuse it.

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


class _PasswordRows:
    """The password throttle's statements on one table: the accounts' (``Throttle``, kind
    "password") or the names' that are nobody's (``NameThrottle``). A subject (an
    account's id, a name's digest) has a row per source and one for every source."""

    def __init__(
        self,
        model: type[Throttle] | type[NameThrottle],
        subject: Field,
        subject_type: type,
        **fixed: str,
    ) -> None:
        def key(subject_value: Any, source: Any) -> dict[Any, Any]:
            values = {subject: subject_value, model.source: source}
            values.update({getattr(model, name): value for name, value in fixed.items()})
            return values

        def where(subject_value: Any, source: Any = None) -> Expression:
            condition: Expression = subject == subject_value
            for name, value in fixed.items():
                condition &= getattr(model, name) == value
            return condition if source is None else condition & (model.source == source)

        conflict = [subject, *(getattr(model, name) for name in fixed), model.source]
        fixed_only = [getattr(model, name) == value for name, value in fixed.items()]

        def count_on_ceiling(subject_value: Any, now: Any, *, held: bool) -> Any:
            return (
                model.insert(
                    {
                        **key(subject_value, ALL_SOURCES),
                        model.failures: 1,
                        model.last_attempt: Value(now),
                    }
                )
                .on_conflict(
                    conflict_target=conflict,
                    update={
                        model.failures: model.failures + 1,
                        model.last_attempt: Value(now),
                    },
                    where=(model.failures < ACCOUNT_CEILING) if held else None,
                )
                .returning(model.throttled)
            )

        # Both this source's row and the ceiling's, to know whether the ceiling holds it.
        self.read = Prepared(
            lambda subject_value, source: model.select(
                model.source, model.failures, model.last_success
            ).where(where(subject_value), model.source.in_([source, ALL_SOURCES])),
            subject_type,
            str,
        )
        # This source's growing delay: counted and let through unless locked now.
        self.claim_source = Prepared(
            lambda subject_value, source, now: (
                model.insert(
                    {
                        **key(subject_value, source),
                        model.failures: 1,
                        model.locked_until: Value(now) + delay_after(1),
                        model.last_attempt: Value(now),
                    }
                )
                .on_conflict(
                    conflict_target=conflict,
                    update={
                        model.failures: model.failures + 1,
                        model.locked_until: Value(now) + _delay_after_one_more(model.failures),
                        model.last_attempt: Value(now),
                    },
                    where=(model.locked_until <= now),
                )
                .returning(model.failures)
            ),
            subject_type,
            str,
            float,
        )
        # Refused by this source's delay: counted; until when the lock lasts.
        self.refuse_source = Prepared(
            lambda subject_value, source, now: (
                model.update({model.throttled: model.throttled + 1, model.last_attempt: Value(now)})
                .where(where(subject_value, source), model.locked_until > now)
                .returning(model.locked_until)
            ),
            subject_type,
            str,
            float,
        )

        def count_refusal(subject_value: Any, source: Any, now: Any) -> Any:
            return model.insert(
                {**key(subject_value, source), model.throttled: 1, model.last_attempt: now}
            ).on_conflict(
                conflict_target=conflict,
                update={
                    model.throttled: model.throttled + 1,
                    model.last_attempt: Value(now),
                },
            )

        # Refused by the ceiling: counted on the source's row, which it may not have yet.
        self.count_refusal = Prepared(count_refusal, subject_type, str, float)
        # The every-source count: held at the ceiling (a source not trusted), or not.
        self.claim_below_ceiling = Prepared(
            lambda subject_value, now: count_on_ceiling(subject_value, now, held=True),
            subject_type,
            float,
        )
        self.count_on_ceiling = Prepared(
            lambda subject_value, now: count_on_ceiling(subject_value, now, held=False),
            subject_type,
            float,
        )
        # A refusal, on the every-source row too: it tells an attempt let through that a
        # burst awaits its audit event.
        self.count_refusal_on_ceiling = Prepared(
            lambda subject_value, now: count_refusal(subject_value, ALL_SOURCES, now),
            subject_type,
            float,
        )
        self.succeed_source = Prepared(
            lambda subject_value, source, now: model.update(
                {
                    model.failures: 0,
                    model.locked_until: 0.0,
                    model.last_attempt: Value(now),
                    model.last_success: Value(now),
                }
            ).where(where(subject_value, source)),
            subject_type,
            str,
            float,
        )
        self.succeed_ceiling = Prepared(
            lambda subject_value: (
                model.update({model.failures: 0})
                .where(where(subject_value, ALL_SOURCES))
                .returning(model.throttled)
            ),
            subject_type,
        )
        self.forget = Prepared(
            lambda before: model.delete().where(*fixed_only, model.last_attempt < before),
            float,
        )
        self.model = model
        self.where = where

    def admit(self, subject: int | str, source: str, now: float) -> tuple[Throttled | None, bool]:
        """Let one attempt through (counted as a failure until a success) or refuse it.

        Inside a transaction. Returns the refusal to raise once it commits (or None), and
        whether refusals await their audit event (``take_burst``, after the commit).
        Rows are locked in one order everywhere: the source's, then the every-source row.
        """
        self.forget.execute(now - FORGET_SECONDS)
        trusted = ceiling_reached = False
        for row_source, failures, last_success in self.read.execute(subject, source).fetchall():
            if row_source == ALL_SOURCES:
                ceiling_reached = failures >= ACCOUNT_CEILING
            else:
                trusted = last_success > 0 and last_success >= now - TRUSTED_SOURCE_SECONDS
        if ceiling_reached and not trusted:
            return self._refuse_at_ceiling(subject, source, now), False
        for _ in range(3):
            if self.claim_source.execute(subject, source, now).fetchall():
                break
            rows = self.refuse_source.execute(subject, source, now).fetchall()
            if rows:
                self.count_refusal_on_ceiling.execute(subject, now)
                return Throttled(max(1, math.ceil(rows[0][0] - now))), False
            # A success ended the lock between the two statements: try to claim again.
        else:
            return Throttled(1), False
        ceiling = self.count_on_ceiling if trusted else self.claim_below_ceiling
        counted = ceiling.execute(subject, now).fetchall()
        if not counted:  # parallel attempts reached the ceiling since it was read
            return self._refuse_at_ceiling(subject, source, now), False
        return None, counted[0][0] > 0

    def _refuse_at_ceiling(self, subject: int | str, source: str, now: float) -> Throttled:
        self.count_refusal.execute(subject, source, now)
        self.count_refusal_on_ceiling.execute(subject, now)
        return LockedOut()

    def succeed(self, subject: int | str, source: str, now: float) -> bool:
        """After a success (in its transaction): this source is trusted from now, every
        count starts again. Returns whether refusals await their audit event."""
        self.succeed_source.execute(subject, source, now)
        rows = self.succeed_ceiling.execute(subject).fetchall()
        return bool(rows and rows[0][0] > 0)

    def take_burst(self, subject: int | str) -> list[tuple[int, str]]:
        """The refusals not yet audited, per source (most refused first), taken off the
        counts: each by a conditional UPDATE, so two attempts ending one burst at once
        take each refusal once. Inside a transaction of its own (see ``admit``)."""
        model = self.model
        rows = cast(  # peewee's stubs type .tuples() as yielding models: (source, count)
            "Iterable[tuple[str, int]]",
            model.select(model.source, model.throttled)
            .where(self.where(subject), model.source != ALL_SOURCES, model.throttled > 0)
            .order_by(model.source)  # the order every taker locks them in
            .tuples(),
        )
        taken: list[tuple[int, str]] = []
        for source, count in list(rows):
            if (
                model.update({model.throttled: model.throttled - count})
                .where(self.where(subject, source), model.throttled >= count)
                .execute()
            ):
                taken.append((count, source))
        total = sum(count for count, _ in taken)
        # Taken off the every-source count; nothing found to take (rows forgotten meanwhile)
        # clears it, so no attempt looks for a burst that is not there.
        remaining = Case(None, [(model.throttled > total, model.throttled - total)], 0)
        model.update({model.throttled: remaining if total else 0}).where(
            self.where(subject, ALL_SOURCES)
        ).execute()
        return sorted(taken, reverse=True)


_ACCOUNT_PASSWORDS = _PasswordRows(Throttle, Throttle.account, int, kind=PASSWORD)
_NAME_PASSWORDS = _PasswordRows(NameThrottle, NameThrottle.name_digest, str)


def this_source() -> str:
    """Where this process's attempts come from (``audit.attempt_source``), as stored: a
    keyed digest, never the address or account as typed."""
    return sealer().digest(audit.attempt_source(), "login-source")


def admit_password(account: Account, source: str, now: float) -> None:
    """Count a password attempt from ``source`` before its verdict, in a transaction of
    its own; raises Throttled (LockedOut at the ceiling) when refused."""
    with db.atomic():
        refusal, burst = _ACCOUNT_PASSWORDS.admit(account.id, source, now)
    if burst:
        end_password_burst(account)
    if refusal is not None:
        raise refusal


def password_succeeded(account: Account, source: str, now: float) -> bool:
    """The password was right (call it inside the success's transaction): ``source`` is
    trusted for ``TRUSTED_SOURCE_SECONDS``; the counts start again. Returns whether a
    burst of refusals awaits ``end_password_burst``, to call once it commits."""
    return _ACCOUNT_PASSWORDS.succeed(account.id, source, now)


def end_password_burst(account: Account) -> None:
    """The refused password attempts not yet audited, as one event with their count and
    sources (short digests), in a transaction of its own."""
    with db.atomic():
        taken = _ACCOUNT_PASSWORDS.take_burst(account.id)
        refused = sum(count for count, _ in taken)
        if not refused:
            return
        attempts = "attempt" if refused == 1 else "attempts"
        named = ", ".join(source[:8] for _, source in taken[:SOURCES_NAMED])
        more = ", …" if len(taken) > SOURCES_NAMED else ""
        places = "source" if len(taken) == 1 else "sources"
        audit.record(
            account,
            "login.throttled",
            target=account,
            detail=(
                f"{refused} password {attempts} refused while locked, "
                f"from {len(taken)} {places} ({named}{more})"
            ),
        )


def admit_unknown_name(name: str, source: str, now: float) -> None:
    """``admit_password`` for a name that is nobody's account: the same rows, schedule
    and ceiling (nothing succeeds for it, so no source is ever trusted), not audited:
    there is nobody to file it under. Raises Throttled as an account's would."""
    digest = sealer().digest(name, "unknown-login-name")
    with db.atomic():
        refusal, _ = _NAME_PASSWORDS.admit(digest, source, now)
    if refusal is not None:
        raise refusal


def failed_in_a_row(account_id: int) -> int | None:
    """The user's consecutive failed attempts (passwords from every source, or codes,
    whichever is more), or None when nothing is throttled: no count an unlock would clear."""
    rows = cast(  # peewee's stubs type .tuples() as yielding models: (source, failures)
        "Iterable[tuple[str, int]]",
        Throttle.select(Throttle.source, Throttle.failures)
        .where(
            Throttle.account == account_id,
            (Throttle.failures > 0) | (Throttle.locked_until > 0),
        )
        .tuples(),
    )
    counts = list(rows)
    if not counts:
        return None
    return max((failures for source, failures in counts if source == ALL_SOURCES), default=0)


@dataclass(frozen=True)
class Unlocked:
    """What ``unlock`` did."""

    username: str  # as stored
    cleared: int  # how many counts were cleared (a source's, the ceiling, the codes')


@translate_errors
def unlock(actor: Actor, username: str) -> Unlocked:
    """Clear every throttle of ``username`` (each source's delay, the ceiling, the code
    step's): a Users-module holder of at least the user's standing (policy.refusal_for),
    or the shell. Audited in the same transaction, whether anything was throttled or
    not. The sources keep their trust."""
    policy.require_users_module(actor)
    target = policy.find_account(username)
    policy.require_standing(actor, target)
    with db.atomic():
        cleared = 0
        # The sources' rows before the ceiling's and codes', the order a login locks them in.
        for sources in (Throttle.source != ALL_SOURCES, Throttle.source == ALL_SOURCES):
            cleared += (
                Throttle.update(failures=0, locked_until=0.0)
                .where(
                    Throttle.account == target.id,
                    sources,
                    (Throttle.failures > 0) | (Throttle.locked_until > 0),
                )
                .execute()
            )
        audit.record(
            actor,
            "user.unlocked",
            target=target,
            detail=f"cleared {cleared} failure counts" if cleared else "nothing was throttled",
        )
    return Unlocked(target.username, cleared)
