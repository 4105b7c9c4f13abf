"""Rules that protect people, across processes and races (SQLite and PostgreSQL)."""

from __future__ import annotations

import glob
import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
import threading
from urllib.parse import urlsplit

import pytest
from helpers import PASSWORD, START, add_user, admin, code_at, register, start_login

from qmfa_tui import storage
from qmfa_tui.errors import AuthenticationFailed, DatabaseBusy, QmfaError, Throttled
from qmfa_tui.services import accounts, login, policy, twofactor
from qmfa_tui.services.session import PendingLogin

FAIL_IN_ANOTHER_PROCESS = textwrap.dedent(f"""
    import sys
    from qmfa_tui import storage
    from qmfa_tui.services import clock, login
    storage.open_database(sys.argv[1])
    with clock.use_clock(lambda: {START}):
        for _ in range(int(sys.argv[2])):
            try:
                login.with_security_code(login.with_password("admin", sys.argv[3]), "000000")
            except Exception as error:
                print(type(error).__name__)
""")


def test_throttling_holds_across_processes_and_both_code_kinds(database, database_url, fixed_clock):
    device = register(admin(), fixed_clock)
    fixed_clock.t = START  # the other process's clock
    storage.close_database()
    child = subprocess.run(
        [sys.executable, "-c", FAIL_IN_ANOTHER_PROCESS, database_url, "2", PASSWORD],
        capture_output=True,
        text=True,
        timeout=60,
    )
    storage.open_database(database_url)
    assert child.stdout.split() == ["AuthenticationFailed"] * 2, child.stderr
    # The third failure, here and with a recovery code, starts the wait for everyone.
    with pytest.raises(AuthenticationFailed):
        login.with_recovery_code(start_login("admin"), "zzzzz-zzzzz")
    with pytest.raises(Throttled):
        login.with_security_code(start_login("admin"), code_at(device.secret, START))


def test_a_locked_sqlite_database_is_a_clear_retryable_error(
    database, backend, db_path, database_url, monkeypatch
):
    if backend != "sqlite":
        pytest.skip("SQLite's file lock")
    boss = admin()
    storage.close_database()
    monkeypatch.setenv("QMFA_BUSY_TIMEOUT", "0.2")
    storage.open_database(database_url)
    holder = sqlite3.connect(db_path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(DatabaseBusy, match="try again"):
            accounts.create_user(boss, "alice", password=PASSWORD)
    finally:
        holder.execute("ROLLBACK")
    assert accounts.create_user(boss, "alice", password=PASSWORD).username == "alice"


def pg_dump() -> str | None:
    found = shutil.which("pg_dump") or sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_dump"))
    return found if isinstance(found, str) else (found[-1] if found else None)


def test_pg_dump_holds_no_secret_and_no_code(database, backend, database_url, fixed_clock):
    if backend != "postgresql":
        pytest.skip("the SQLite dump is checked in test_storage")
    boss = admin()
    device = register(boss, fixed_clock)
    tool = pg_dump()
    assert tool, "pg_dump is needed to check what a PostgreSQL dump holds"
    parts = urlsplit(database_url)
    dump = subprocess.run(
        [
            tool,
            "-h",
            parts.hostname,
            "-p",
            str(parts.port),
            "-U",
            parts.username,
            parts.path.lstrip("/"),
        ],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PGPASSWORD": parts.password or ""},
    ).stdout
    assert "recovery_code" in dump and "v1." in dump
    assert device.secret not in dump
    assert not any(code in dump or code.replace("-", "") in dump for code in device.codes)


def race(*calls) -> list[BaseException | object]:
    """Run the calls at the same moment in threads (each its own connection)."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[BaseException | object] = [None] * len(calls)

    def run(index: int, call) -> None:
        barrier.wait()
        try:
            outcomes[index] = call()
        except BaseException as error:
            outcomes[index] = error

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def test_remove_while_the_owner_resyncs(database, fixed_clock):
    boss = admin()
    alice = add_user(boss, "alice")
    device = register(alice, fixed_clock)
    phone = fixed_clock.t + 600
    outcomes = race(
        lambda: twofactor.remove_device(boss, "alice"),
        lambda: twofactor.resync(
            alice, code_at(device.secret, phone - 30), code_at(device.secret, phone)
        ),
    )
    for outcome in outcomes:
        assert not isinstance(outcome, BaseException) or isinstance(outcome, QmfaError), outcome
    assert not isinstance(outcomes[0], BaseException)  # the removal always goes through
    info = accounts.get_user(boss, "alice")
    assert not info.two_factor and info.recovery_codes_left is None
    assert storage.RecoveryCode.select().count() == 0


def test_mandatory_switched_while_a_user_logs_in(database, fixed_clock):
    boss = admin()
    register(boss, fixed_clock)
    add_user(boss, "alice")
    outcomes = race(
        lambda: policy.set_mandatory(boss, True), lambda: login.with_password("alice", PASSWORD)
    )
    assert not any(isinstance(o, BaseException) for o in outcomes), outcomes
    assert isinstance(outcomes[1], PendingLogin)
    assert outcomes[1].next_step.value in ("done", "register_device")
    assert policy.instance_info().mandatory
    assert login.with_password("alice", PASSWORD).next_step.value == "register_device"


def test_codes_are_compared_in_constant_time(monkeypatch, database, fixed_clock):
    """Security codes go through hmac.compare_digest; recovery codes are found by keyed digest."""
    import hmac

    calls = []
    real = hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    device = register(admin(), fixed_clock)
    monkeypatch.setattr(hmac, "compare_digest", spy)
    login.with_security_code(start_login("admin"), code_at(device.secret, fixed_clock.t))
    assert calls and all(len(a) == len(b) == 6 for a, b in calls)
    stored = {row.digest for row in storage.RecoveryCode.select()}
    assert all(len(d) == 64 and d not in device.codes for d in stored)
