"""Several processes race for one recovery code or one TOTP step (SQLite and PostgreSQL)."""

from __future__ import annotations

import multiprocessing

import pyotp
import pytest
from helpers import PASSWORD
from helpers import login as log_in

from qmfa_tui import storage
from qmfa_tui.errors import QmfaError
from qmfa_tui.services import accounts, clock, login, twofactor
from qmfa_tui.services.session import PendingLogin

PROCESSES = 8
ROUNDS = 10

pytestmark = pytest.mark.slow


def _race(url: str, kind: str, code: str, pending: PendingLogin, barrier, results) -> None:
    try:
        storage.open_database(url)
        barrier.wait(timeout=60)
        if kind == "recovery":
            login.with_recovery_code(pending, code)
        else:
            login.with_security_code(pending, code)
        results.put("success")
    except QmfaError as error:
        results.put(type(error).__name__)
    except BaseException as error:  # the test reports any crash as such
        results.put(f"crash: {error!r}")


def run_race(url: str, kind: str, code: str) -> list[str]:
    # The password steps first, one after another: the throttle counts a password attempt
    # as a failure until it succeeds, so 8 at one instant would throttle each other.
    storage.open_database(url)
    pendings = [login.with_password("admin", PASSWORD) for _ in range(PROCESSES)]
    storage.close_database()
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(PROCESSES)
    results = context.Queue()
    workers = [
        context.Process(target=_race, args=(url, kind, code, pending, barrier, results))
        for pending in pendings
    ]
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)
    return outcomes


@pytest.fixture
def enrolled(database_url: str):
    """An admin with a device, registered at the real time (the racers use the real clock)."""
    url = database_url
    storage.open_database(url)
    accounts.create_first_admin("admin", PASSWORD)
    actor = log_in("admin")
    pending = twofactor.begin_registration(actor)
    enrollment = twofactor.confirm_registration(actor, pending, pyotp.TOTP(pending.secret).now())
    storage.close_database()  # each process opens its own connection
    return url, pending.secret, enrollment.recovery_codes


def forget_failures(url: str) -> None:
    storage.open_database(url)
    storage.Throttle.delete().execute()
    storage.close_database()


def test_one_recovery_code_one_winner(enrolled):
    url, _, codes = enrolled
    for code in codes:
        outcomes = run_race(url, "recovery", code)
        assert not [o for o in outcomes if o.startswith("crash")], outcomes
        assert outcomes.count("success") == 1, outcomes
        forget_failures(url)
    storage.open_database(url)
    try:
        admin = login.with_password("admin", PASSWORD)
        assert admin.actor is None  # 2FA is on: the admin needs a code
        left = storage.RecoveryCode.select().count()
        assert left == 0
    finally:
        storage.close_database()


def last_used_step(url: str) -> int:
    storage.open_database(url)
    try:
        return storage.Device.get().last_step
    finally:
        storage.close_database()


def test_one_totp_step_one_winner(enrolled):
    url, secret, _ = enrolled
    totp = pyotp.TOTP(secret)
    for _ in range(ROUNDS):
        # One time step later each round (the racers are forked with this clock): the
        # step after the last used one, where the phone is now.
        step = last_used_step(url) + 1
        now = step * 30.0 + 1
        with clock.use_clock(lambda now=now: now):  # type: ignore[misc]  # binds now early
            outcomes = run_race(url, "totp", totp.generate_otp(step))
        assert not [o for o in outcomes if o.startswith("crash")], outcomes
        assert outcomes.count("success") == 1, outcomes
        assert set(outcomes) <= {
            "success",
            "CodeAlreadyUsed",
            "AuthenticationFailed",
            "Throttled",
        }, outcomes
        assert last_used_step(url) == step
        forget_failures(url)
