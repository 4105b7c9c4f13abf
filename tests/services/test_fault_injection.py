"""SIGKILL in the middle of registration or of a recovery-code login: after restart the
database holds the old state or the new one, never half of it (SQLite and PostgreSQL)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pyotp
import pytest
from helpers import PASSWORD
from helpers import login as log_in

from qmfa_tui import storage
from qmfa_tui.services import accounts, clock, login, twofactor

# Runs in a child process: patch a seam to SIGKILL the process there, then do the action.
CHILD = textwrap.dedent("""
    import os, signal, sys
    import pyotp
    from qmfa_tui import storage
    from qmfa_tui.services import accounts, audit, login, recovery, twofactor

    url, seam, action = sys.argv[1:4]
    # The parent's cheap argon2 parameters: else the login would also move the hash to the
    # default ones (a rehash, its own audit event).
    from argon2 import PasswordHasher
    accounts.set_password_hasher(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))

    def die(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGKILL)

    storage.open_database(url)
    if seam == "store_codes":
        recovery.store_codes = die
        twofactor.recovery.store_codes = die
    else:
        original = audit.record
        def record(actor, name, **kwargs):
            if name == seam:
                die()
            return original(actor, name, **kwargs)
        audit.record = record

    if action == "register":
        actor = login.with_password("alice", "correct horse").actor
        pending = twofactor.begin_registration(actor)
        twofactor.confirm_registration(actor, pending, pyotp.TOTP(pending.secret).now())
    else:
        pending = login.with_password("alice", "correct horse")
        login.with_recovery_code(pending, action)
    print("survived")
""")


def run_child(url: str, seam: str, action: str) -> subprocess.CompletedProcess[str]:
    storage.close_database()  # the child must not share our connection
    result = subprocess.run(
        [sys.executable, "-c", CHILD, url, seam, action],
        capture_output=True,
        text=True,
        timeout=120,
    )
    storage.open_database(url)
    return result


@pytest.fixture
def alice(database, database_url):
    accounts.create_first_admin("admin", PASSWORD)
    shell = log_in("admin")
    accounts.create_user(shell, "alice", password=PASSWORD)
    return database_url


def counts() -> tuple[int, int, int, bool]:
    account = storage.Account.get(storage.Account.username == "alice")
    return (
        storage.Device.select().where(storage.Device.account == account.id).count(),
        storage.RecoveryCode.select().count(),
        storage.AuditEvent.select().where(storage.AuditEvent.target == "alice").count(),
        account.two_factor,
    )


@pytest.mark.parametrize("seam", ["store_codes", "device.registered"])
def test_killed_during_registration_leaves_no_half_device(alice, seam):
    before = counts()
    result = run_child(alice, seam, "register")
    assert result.returncode == -9 and "survived" not in result.stdout, result.stderr
    after = counts()
    assert after[:2] == (0, 0) and after[3] is False  # no device, no codes, flag untouched
    assert after[2] == before[2] + 1  # only the child's password login event committed


def test_killed_while_using_a_recovery_code_consumes_nothing(alice):
    alice_actor = log_in("alice")
    pending = twofactor.begin_registration(alice_actor)
    enrollment = twofactor.confirm_registration(
        alice_actor, pending, pyotp.TOTP(pending.secret).at(clock.now())
    )
    code = enrollment.recovery_codes[0]
    before = counts()
    result = run_child(alice, "login.recovery_code", code)
    assert result.returncode == -9, result.stderr
    assert counts() == before  # the code is still there and no event was written
    # And the code still works once, afterwards.

    used = login.with_recovery_code(login.with_password("alice", PASSWORD), code)
    assert used.remaining == 7
