"""Small steps the tests share: a fixed clock, an admin, a logged-in user, a device."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass

import pyotp

from qmfa_tui.services import accounts, twofactor
from qmfa_tui.services import login as login_service
from qmfa_tui.services.session import Actor, NextStep, PendingLogin

PASSWORD = "correct horse"


def run_python(program: str, *args: str, timeout: float = 120) -> str:
    """What ``program`` prints, run in a fresh interpreter with ``args`` (it must succeed)."""
    done = subprocess.run(
        [sys.executable, "-c", program, *args], capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


# 2027-01-15 08:00:00 UTC, on a 30 s boundary, so time steps are easy to reason about.
START = 1_800_000_000.0


class FakeClock:
    def __init__(self, t: float = START) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


def admin() -> Actor:
    accounts.create_first_admin("admin", PASSWORD, display_name="Ada Admin")
    return login("admin")


def login(username: str, password: str = PASSWORD) -> Actor:
    """Log in a user who has no device (the password step is all there is)."""
    pending = login_service.with_password(username, password)
    assert pending.next_step is NextStep.DONE and pending.actor is not None
    return pending.actor


def start_login(username: str, password: str = PASSWORD) -> PendingLogin:
    pending = login_service.with_password(username, password)
    assert pending.next_step is NextStep.SECURITY_CODE
    return pending


def code_at(secret: str, when: float) -> str:
    return pyotp.TOTP(secret).at(when)


@dataclass
class Registered:
    actor: Actor
    secret: str
    codes: list[str]


def register(actor: Actor, clock: FakeClock) -> Registered:
    """Register a device for ``actor``; the clock moves on to the next time step."""
    pending = twofactor.begin_registration(actor)
    enrollment = twofactor.confirm_registration(actor, pending, code_at(pending.secret, clock.t))
    clock.advance(30)
    return Registered(actor, pending.secret, enrollment.recovery_codes)


def add_user(by: Actor, username: str, **fields: object) -> Actor:
    """Create a local user and log them in."""
    accounts.create_user(by, username, password=PASSWORD, **fields)  # type: ignore[arg-type]
    return login(username)


def confirmed(actor: Actor, password: str = PASSWORD) -> Actor:
    """``actor`` having just given their password again ("sudo mode"): removing their own
    device, revealing their own codes or switching mandatory 2FA go ahead for a while."""
    accounts.confirm_password(actor, password)
    return actor


def sqlite_plan(table: str, call: Callable[[], object]) -> tuple[str, object]:
    """SQLite's query plan of the one SELECT on ``table`` that ``call`` sends (caught with
    sqlite3's trace callback, parameters in place), and what ``call`` returned."""
    from qmfa_tui.storage import db

    sent: list[str] = []
    connection = db.connection()
    connection.set_trace_callback(sent.append)
    try:
        result = call()
    finally:
        connection.set_trace_callback(None)
    [query] = [sql for sql in sent if f'"{table}"' in sql and sql.lstrip().startswith("SELECT")]
    plan = " ".join(str(step[-1]) for step in db.execute_sql(f"EXPLAIN QUERY PLAN {query}"))
    return plan, result
