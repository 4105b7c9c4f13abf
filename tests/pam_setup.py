"""What the PAM helper's tests share: a database whose users the helper checks at the real
time (the helper is another process and reads the real clock), and running the helper."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyotp
from helpers import PASSWORD

from qmfa_tui import storage
from qmfa_tui.services import accounts, clock, login, twofactor
from qmfa_tui.storage import InstanceSettings

HELPER = [sys.executable, "-I", "-m", "qmfa_tui.pam"]
# A real ed25519 public key and its fingerprint as `ssh-keygen -l` shows it.
PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIONrtMAGl4YK6VA509LMWF7D9bPyzPne4PY7nYW4eQLh"
FINGERPRINT = "SHA256:f84BPBSzdxw+RyiaLlvIF7YHjdRg4KQW9m4/K7GIY9E"


@dataclass(frozen=True)
class Guarded:
    """A qmfa database on disk: alice has a device (registered a minute ago), carol none,
    dave is inactive, lena signs in through LDAP without a device."""

    url: str
    key_file: Path
    secret: str
    recovery_codes: list[str]

    @property
    def path(self) -> Path:
        return Path(self.url.removeprefix("sqlite:///"))

    @property
    def on_sqlite(self) -> bool:
        return self.url.startswith("sqlite:")

    def code_now(self) -> str:
        """alice's security code now, not within 2 s of a step's end (the helper runs after)."""
        while time.time() % 30 >= 28:
            time.sleep(0.2)
        return pyotp.TOTP(self.secret).now()

    def hold_code_lock(self, seconds: float) -> None:
        """Make the code throttle's current lock last ``seconds`` from now, as after many
        failures (the helpers of a test take longer than the first waits)."""
        update = "UPDATE throttle SET locked_until = {} WHERE kind = 'code' AND source = ''"
        if not self.on_sqlite:
            changed = _on_postgresql(self.url, update.format("%s"), (time.time() + seconds,))[1]
        else:
            with sqlite3.connect(self.path) as connection:
                changed = connection.execute(update.format("?"), (time.time() + seconds,)).rowcount
            connection.close()
        assert changed == 1

    def audit(self, action_prefix: str = "pam.") -> list[tuple[str, str, str, str]]:
        """(action, target, detail, origin) of the events whose action starts so, in order."""
        query = (
            "SELECT action, target, detail, origin FROM audit_event WHERE action LIKE {} "
            "ORDER BY id"
        )
        if not self.on_sqlite:
            found = _on_postgresql(self.url, query.format("%s"), (action_prefix + "%",))[0]
            return [tuple(row) for row in found]
        with sqlite3.connect(self.path) as connection:
            rows = connection.execute(query.format("?"), (action_prefix + "%",)).fetchall()
        connection.close()
        return [tuple(row) for row in rows]


def _on_postgresql(url: str, sql: str, params: tuple[object, ...]) -> tuple[list[Any], int]:
    """The rows and row count of one statement, on a connection of its own (autocommit)."""
    from playhouse.db_url import connect

    database = connect(url)
    try:
        cursor = database.execute_sql(sql, params)
        return (cursor.fetchall() if cursor.description else []), cursor.rowcount
    finally:
        database.close()


def make_database(
    directory: Path, *, mandatory_grace_hours: int | None = None, url: str | None = None
) -> Guarded:
    """The database at ``url`` (empty), or a new SQLite file in ``directory``; its key
    file in ``directory``."""
    url = url or f"sqlite:///{directory / 'qmfa.db'}"
    opened = storage.open_database(url, key_file=directory / "qmfa.key")
    assert opened.key_file is not None
    registered_at = time.time() - 60  # alice's codes of now are still unused
    try:
        with clock.use_clock(lambda: registered_at):
            accounts.create_first_admin("admin", PASSWORD)
            boss = login.with_password("admin", PASSWORD).actor
            assert boss is not None
            accounts.create_user(boss, "alice", password=PASSWORD)
            accounts.create_user(boss, "carol", password=PASSWORD)
            accounts.create_user(boss, "dave", password=PASSWORD, active=False)
            accounts.create_user(boss, "lena", auth_source="ldap")
            alice = login.with_password("alice", PASSWORD).actor
            assert alice is not None
            pending = twofactor.begin_registration(alice)
            enrollment = twofactor.confirm_registration(
                alice, pending, pyotp.TOTP(pending.secret).at(registered_at)
            )
        if mandatory_grace_hours is not None:
            InstanceSettings.update(
                mandatory=True, grace_period_hours=mandatory_grace_hours
            ).execute()
    finally:
        storage.close_database()
    return Guarded(url, opened.key_file, pending.secret, enrollment.recovery_codes)


def pam_environment(
    user: str, service: str = "sshd", *, auth_info: str | None = None
) -> dict[str, str]:
    """The environment pam_exec gives its child (and sshd's SSH_AUTH_INFO_0)."""
    environment = {
        "PAM_USER": user,
        "PAM_SERVICE": service,
        "PAM_RHOST": "192.0.2.7",
        "PAM_TTY": "ssh" if service == "sshd" else "/dev/pts/4",
        "PAM_TYPE": "auth",
    }
    if service == "sshd":
        environment["SSH_AUTH_INFO_0"] = (
            f"publickey {PUBLIC_KEY}\n" if auth_info is None else auth_info
        )
    return environment


def run_helper(
    step: str,
    guarded: Guarded,
    *,
    user: str = "alice",
    stdin: bytes = b"",
    service: str = "sshd",
    options: Sequence[str] = (),
    environment: Mapping[str, str] | None = None,
    timeout: float = 30,
) -> subprocess.CompletedProcess[str]:
    """The helper as pam_exec runs it: the PAM environment only, the answer on stdin."""
    command = [
        *HELPER,
        step,
        "--service-kind",
        service,
        "--database",
        guarded.url,
        "--key-file",
        str(guarded.key_file),
        "--host",
        "web1",
        *options,
    ]
    env = dict(pam_environment(user, service) if environment is None else environment)
    env["PATH"] = os.environ.get("PATH", "/usr/bin:/bin")
    return subprocess.run(
        command,
        input=stdin.decode("latin-1"),
        env=env,
        capture_output=True,
        text=True,
        encoding="latin-1",
        timeout=timeout,
    )
