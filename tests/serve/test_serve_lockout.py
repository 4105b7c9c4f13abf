"""No anonymous lockout over `qmfa serve`: wrong passwords typed for a person from one
address never keep that person out when they log in from another.

The stranger types into a real served app from 127.0.0.8 (asyncssh on a pty, bounded
in count and time); the person logs in with the real OpenSSH client from 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from pathlib import Path

import asyncssh
import pytest
from ssh_terminal import SSH

from serve.test_serve import log_in, serve  # noqa: F401 (serve is a fixture)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path(SSH).exists(), reason="needs the OpenSSH client (.ci/run)"),
]

STRANGER = "127.0.0.8"
# Enough that the old per-user throttle held the account for 8 s (0, 0, 1, 2, 4, 8).
WRONG_PASSWORDS = 6


def failures_from(database: Path, address: str) -> int:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30) as connection:
        (count,) = connection.execute(
            "SELECT count(*) FROM audit_event WHERE action = 'login.failed' "
            "AND (origin = ? OR origin LIKE ?)",
            (address, f"% {address}"),
        ).fetchone()
    return int(count)


async def type_wrong_passwords(port: int, database: Path, username: str) -> int:
    """Each wrong password typed once the last was answered; one refused while the
    stranger's own delay runs (1, 2, 4 s) is typed again. Returns the failures the
    audit counted from the stranger's address."""
    async with asyncssh.connect(
        "127.0.0.1",
        port,
        local_addr=(STRANGER, 0),
        known_hosts=None,
        username=username,
        client_keys=None,
        agent_path=None,
        config=None,
        login_timeout=30,
    ) as connection:
        process = await connection.create_process(
            term_type="xterm", term_size=(80, 24), encoding=None
        )
        drawn = b""
        while b"Log in to qmfa" not in drawn:
            drawn += await asyncio.wait_for(process.stdout.read(65536), 60)
        deadline = time.monotonic() + 90
        counted = 0
        while counted < WRONG_PASSWORDS and time.monotonic() < deadline:
            process.stdin.write(b"not-the-password\r")
            waited_until = time.monotonic() + 3
            while time.monotonic() < waited_until:
                # Keep reading: a pty whose output is not read stops the app.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(process.stdout.read(65536), 0.2)
                if failures_from(database, STRANGER) > counted:
                    break
            counted = failures_from(database, STRANGER)
        return counted


def test_wrong_passwords_from_one_address_never_keep_the_owner_out(serve):  # noqa: F811
    served = serve()
    database = Path(served.url.removeprefix("sqlite:///"))
    failed = asyncio.run(type_wrong_passwords(served.port, database, "admin"))
    assert failed == WRONG_PASSWORDS
    with served.ssh("admin") as terminal:
        log_in(terminal, served)  # password, then the code: the main menu
        assert "Too many failed attempts" not in terminal.text()
    assert served.stop() == 0
