"""The pieces of `qmfa serve` on their own: limits, the host key, the pty process."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from qmfa_tui.cli.common import UsageError
from qmfa_tui.cli.serve import parse_listen
from qmfa_tui.errors import BadInput
from qmfa_tui.serve import host_key
from qmfa_tui.serve.server import RateLimit
from qmfa_tui.serve.terminal import TerminalProcess
from qmfa_tui.served_limits import (
    IDLE_TIMEOUT_ENV,
    LOGGED_IN,
    LOGGED_OUT,
    LOGIN_TIMEOUT_ENV,
    STATUS_FD_ENV,
    USERNAME_ENV,
    ServedLimits,
)


def test_qmfa_starts_without_asyncssh():
    probe = (
        "import sys\n"
        "from qmfa_tui.cli import build_parser\n"
        "import qmfa_tui.app\n"
        "build_parser().parse_args(['serve', '--max-sessions', '2'])\n"
        "print('asyncssh' in sys.modules)\n"
    )
    shown = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120
    )
    assert shown.stdout.strip() == "False", shown.stderr


def test_connections_per_address_are_limited_within_the_window():
    limit = RateLimit(2, window=60)
    assert limit.allow("192.0.2.1", 0) and limit.allow("192.0.2.1", 1)
    assert not limit.allow("192.0.2.1", 2)
    assert limit.allow("192.0.2.2", 2)  # another address has its own count
    assert not limit.allow("192.0.2.1", 59.9)
    assert limit.allow("192.0.2.1", 60.5)  # the first connection left the window


def test_a_served_session_reads_its_limits_from_the_environment():
    assert ServedLimits.from_environment({}) is None
    limits = ServedLimits.from_environment(
        {LOGIN_TIMEOUT_ENV: "120", IDLE_TIMEOUT_ENV: "900", USERNAME_ENV: "alice"}
    )
    assert limits == ServedLimits(120.0, 900.0, "alice")
    odd = ServedLimits.from_environment(
        {LOGIN_TIMEOUT_ENV: "nan", IDLE_TIMEOUT_ENV: "-5", USERNAME_ENV: "\x1b[31mroot"}
    )
    assert odd == ServedLimits(0.0, 0.0, "")  # no limit from nonsense; no hostile name shown


def test_the_login_timeout_counts_from_the_login_screen_and_the_idle_one_from_input():
    limits = ServedLimits(login_timeout=120, idle_timeout=900)
    limits.start(1000)
    assert limits.expired(1119, logged_in=False) is None
    assert "nobody logged in within 2 min" in (limits.expired(1120, logged_in=False) or "")
    assert limits.expired(1120, logged_in=True) is None  # logged in: only idleness counts
    limits.note_input(1500)
    assert limits.expired(2399, logged_in=True) is None
    assert "logged out after 15 min without input" in (limits.expired(2400, logged_in=True) or "")
    limits.start(2400)  # logged out: back at the login screen, its timeout counts again
    assert limits.expired(2500, logged_in=False) is None


def test_the_host_key_is_made_private_once_and_read_back(tmp_path, umask_zero):
    path = tmp_path / "keys" / "host_key"
    made = host_key.load_or_create(path)
    assert path.stat().st_mode & 0o777 == 0o600
    again = host_key.load_or_create(path)
    assert host_key.fingerprint(again) == host_key.fingerprint(made)
    assert host_key.fingerprint(made).startswith("SHA256:")
    assert host_key.public_line(made).startswith("ssh-ed25519 AAAA")


def test_a_host_key_others_can_read_or_a_link_or_junk_is_refused(tmp_path):
    path = tmp_path / "host_key"
    host_key.load_or_create(path)
    path.chmod(0o640)
    with pytest.raises(BadInput, match="can be read by others"):
        host_key.load_or_create(path)
    link = tmp_path / "link"
    link.symlink_to(path)
    with pytest.raises(BadInput, match="is a symbolic link"):
        host_key.load_or_create(link)
    junk = tmp_path / "junk"
    junk.write_text("not a key")
    junk.chmod(0o600)
    with pytest.raises(BadInput, match="is not an SSH private key"):
        host_key.load_or_create(junk)


def test_the_host_key_lives_beside_the_database(tmp_path):
    assert host_key.default_path(tmp_path / "qmfa.db", None, tmp_path / "data") == (
        tmp_path / "qmfa.ssh_host_ed25519_key"
    )
    assert host_key.default_path(None, tmp_path / "k" / "pg.key", tmp_path / "data") == (
        tmp_path / "k" / "ssh_host_ed25519_key"
    )


def test_listen_addresses():
    assert parse_listen("127.0.0.1:2222") == ("127.0.0.1", 2222)
    assert parse_listen("[::1]:0") == ("::1", 0)
    for bad in ("localhost", ":2222", "host:port", "host:70000"):
        with pytest.raises(UsageError):
            parse_listen(bad)


async def shell_on_a_pty(
    script: str, columns: int, rows: int, ready: bytes
) -> tuple[TerminalProcess, bytearray, asyncio.Future[int]]:
    """``script`` run by /bin/sh on a pty of that size, once it has printed ``ready``:
    the process, what it printed so far (it goes on growing), and its exit code to come."""
    exited: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    output = bytearray()
    process = TerminalProcess(
        ["/bin/sh", "-c", script],
        {"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        columns,
        rows,
        output.extend,
        exited.set_result,
    )
    for _ in range(600):
        if ready in output:
            break
        await asyncio.sleep(0.1)
    return process, output, exited


async def test_stopping_a_program_ends_what_it_started_too(tmp_path):
    """The group goes, not just the leader: a child it left in the background as well."""
    pid_file = tmp_path / "child.pid"
    script = f"sleep 1000 & echo $! > {pid_file}; echo started; wait"
    process, _, exited = await shell_on_a_pty(script, 80, 24, b"started")
    child = int(pid_file.read_text())
    assert os.getpgid(child) == process.pid
    await process.stop(grace=30)
    assert process.returncode is not None and exited.done()
    for _ in range(600):
        if not Path(f"/proc/{child}").exists() or _zombie(child):
            break
        await asyncio.sleep(0.1)
    assert not Path(f"/proc/{child}").exists() or _zombie(child)


async def test_a_program_sees_the_window_size_it_was_given_and_its_changes():
    script = "stty size; trap 'stty size; exit 0' WINCH; echo ready; while :; do sleep 0.1; done"
    process, output, exited = await shell_on_a_pty(script, 100, 30, b"ready")
    assert b"30 100" in output
    process.resize(132, 43)  # the pty is its controlling terminal: SIGWINCH reaches it
    await asyncio.wait_for(exited, 60)
    assert b"43 132" in output


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def test_the_app_tells_the_server_through_a_pipe_and_never_writes_to_another_file(tmp_path):
    read_end, write_end = os.pipe()
    try:
        env = {LOGIN_TIMEOUT_ENV: "120", STATUS_FD_ENV: str(write_end)}
        limits = ServedLimits.from_environment(env)
        assert limits is not None and limits.status_fd == write_end
        limits.report(logged_in=True)
        limits.report(logged_in=False)
        assert os.read(read_end, 100) == LOGGED_IN + LOGGED_OUT
    finally:
        os.close(read_end)
        os.close(write_end)
    with (tmp_path / "file").open("w") as file:
        env = {LOGIN_TIMEOUT_ENV: "120", STATUS_FD_ENV: str(file.fileno())}
        limits = ServedLimits.from_environment(env)
        assert limits is not None and limits.status_fd is None
    assert (tmp_path / "file").read_text() == ""


def test_a_served_app_inherits_no_textual_variable_that_writes_files_or_types_keys():
    from qmfa_tui.cli.serve import served_environment

    environ = {
        "PATH": "/usr/bin",
        "TEXTUAL": "devtools,debug",
        "TEXTUAL_LOG": "/tmp/keys.log",
        "TEXTUAL_SCREENSHOT": "1",
        "TEXTUAL_SCREENSHOT_LOCATION": "/tmp",
        "TEXTUAL_PRESS": "enter",
        "TEXTUAL_DRIVER": "x:Y",
        "TEXTUAL_DEVTOOLS_HOST": "192.0.2.1",
        "TEXTUAL_COLOR_SYSTEM": "standard",
        "TEXTUAL_ANIMATIONS": "none",
    }
    assert served_environment(environ) == {
        "PATH": "/usr/bin",
        "TEXTUAL_COLOR_SYSTEM": "standard",
        "TEXTUAL_ANIMATIONS": "none",
    }
