"""`qmfa serve` against the real OpenSSH client (/usr/bin/ssh), on 127.0.0.1.

Each test serves its own demo database on a port the system picks, and trusts only the
host key `qmfa serve --fingerprint` printed (StrictHostKeyChecking=yes). ssh runs on a
pseudo-terminal held by the test, which reads the screen bytes and types keys.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import asyncssh
import pytest
from ssh_terminal import SSH, SshTerminal, children_of, ssh_command

from qmfa_tui.serve import host_key, server

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path(SSH).exists(), reason="needs the OpenSSH client (.ci/run)"),
]

QMFA = [sys.executable, "-m", "qmfa_tui"]
DEMO_PASSWORD = "qmfa-demo"
STARTED = re.compile(r"listening on \S+:(\d+)")


def qmfa(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*QMFA, *args], capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
    )


class Served:
    """A `qmfa serve` process on a demo database of its own."""

    def __init__(self, tmp_path: Path, *options: str) -> None:
        self.url = f"sqlite:///{tmp_path}/serve/demo.db"
        made = qmfa("demo", "--users", "3", "--no-launch", "--database", self.url)
        assert made.returncode == 0, made.stderr
        shown = qmfa("serve", "--fingerprint", "--database", self.url)
        assert shown.returncode == 0, shown.stderr
        self.fingerprint, public_key = shown.stdout.splitlines()
        self.log = tmp_path / "serve.log"
        self.process = subprocess.Popen(
            [*QMFA, "serve", "--database", self.url, "--listen", "127.0.0.1:0", *options],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self.log.open("w"),
            text=True,
        )
        assert self.process.stdout is not None
        self.started = "".join(self.process.stdout.readline() for _ in range(3))
        port = STARTED.search(self.started)
        assert port, f"{self.started!r} {self.log.read_text()!r}"
        self.port = int(port.group(1))
        assert self.fingerprint in self.started
        self.known_hosts = tmp_path / "known_hosts"
        self.known_hosts.write_text(f"[127.0.0.1]:{self.port} {public_key}\n")

    def ssh(self, user: str = "admin", columns: int = 80, rows: int = 24) -> SshTerminal:
        return SshTerminal(ssh_command(self.port, self.known_hosts, user), columns, rows)

    def run_ssh(
        self, options: Sequence[str], command: Sequence[str] = (), user: str = "admin"
    ) -> subprocess.CompletedProcess[str]:
        argv = ssh_command(self.port, self.known_hosts, user, options, command)
        return subprocess.run(
            argv, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL
        )

    def code(self, username: str = "admin") -> str:
        printed = qmfa("demo", "codes", username, "--database", self.url)
        assert printed.returncode == 0, printed.stderr
        return printed.stdout.strip()

    def audit(self) -> list[dict[str, str]]:
        listed = qmfa("audit", "--format", "json", "--database", self.url)
        assert listed.returncode == 0, listed.stderr
        events: list[dict[str, str]] = json.loads(listed.stdout)
        return events

    def apps(self) -> list[int]:
        """The server's child processes (each session's app)."""
        return children_of(self.process.pid)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(120)


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # A zombie still answers: it is gone once it is reaped, but it runs nothing.
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def wait_until(condition: object, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return True
        time.sleep(0.1)
    return False


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[type[Served]]:
    started: list[Served] = []

    class Started(Served):
        def __init__(self, *options: str) -> None:
            super().__init__(tmp_path, *options)
            started.append(self)

    yield Started
    for served in started:
        if served.process.poll() is None:
            served.process.kill()
            served.process.wait()


def log_in(terminal: SshTerminal, served: Served) -> None:
    """From the login screen with the username pre-filled: password, then the code."""
    terminal.expect("Log in to qmfa")
    terminal.type(DEMO_PASSWORD + "\r")
    terminal.expect("Security code", "security code")
    terminal.type(served.code() + "\r")
    terminal.expect("My Account")


def test_ssh_reaches_the_login_screen_logs_in_with_password_and_code_and_quits(serve):
    served = serve()
    with served.ssh("admin") as terminal:
        log_in(terminal, served)  # the password alone: "admin" came from `ssh admin@`
        terminal.type("\x11")  # Ctrl+Q
        assert terminal.wait() == 0
    assert wait_until(lambda: not served.apps())
    events = served.audit()
    login = next(e for e in events if e["action"] == "login.succeeded")
    assert (login["actor"], login["actor_kind"], login["origin"]) == (
        "admin",
        "person",
        "127.0.0.1",
    )
    sessions = [e for e in events if e["action"].startswith("ssh.session_")]
    assert [e["action"] for e in sessions] == ["ssh.session_closed", "ssh.session_opened"]
    assert all(e["origin"].endswith(" from 127.0.0.1") for e in sessions)
    assert all(e["detail"].startswith("SSH user 'admin'") for e in sessions)
    assert re.fullmatch(r"SSH user 'admin', \d+ s", sessions[0]["detail"])
    assert served.stop() == 0


def test_a_recovery_code_login_the_users_module_and_logging_out_over_ssh(serve):
    served = serve()
    codes = qmfa("users", "recovery-codes", "helpdesk", "--database", served.url)
    assert codes.returncode == 0, codes.stderr
    with served.ssh("helpdesk") as terminal:
        terminal.expect("Log in to qmfa")
        terminal.type(DEMO_PASSWORD + "\r")
        terminal.expect("Security code", "security code")
        terminal.type("\x12")  # Ctrl+R: a recovery code instead
        terminal.expect("ecovery code")
        terminal.type(codes.stdout.split()[0] + "\r")
        terminal.expect("Logged in as helpdesk")
        terminal.type("u")
        terminal.expect("Alice Anders")
        terminal.type("\x1b")  # back to the main menu
        terminal.expect("Logged in as helpdesk")
        terminal.type("\x0c")  # Ctrl+L: log out, back at the login screen
        terminal.expect("Log in to qmfa")
        terminal.type("\x11")
        assert terminal.wait() == 0
    login = next(e for e in served.audit() if e["action"] == "login.recovery_code")
    assert (login["actor"], login["origin"], login["detail"]) == (
        "helpdesk",
        "127.0.0.1",
        "recovery codes left: 1",
    )


def test_the_window_size_follows_the_client(serve):
    served = serve()
    with served.ssh(columns=80, rows=24) as terminal:
        terminal.expect("Log in to qmfa")
        assert not re.search(rb"\x1b\[(3[0-9]|40);\d+H", terminal.received)
        terminal.resize(120, 40)
        deadline = time.monotonic() + 60
        # The app draws its footer on row 40 once it knows the new size.
        while not re.search(rb"\x1b\[40;\d+H", terminal.received):
            assert time.monotonic() < deadline, terminal.text()
            terminal.read_for(0.2)


@pytest.mark.parametrize(
    ("options", "command", "said"),
    [
        (["-T"], ["ls", "/"], server.REFUSE_EXEC),
        (["-tt"], ["sh"], server.REFUSE_EXEC),
        (["-T"], [], server.REFUSE_NO_TERMINAL),
        (["-T", "-s"], ["sftp"], server.REFUSE_SUBSYSTEM),
        (["-W", "127.0.0.1:22"], [], server.REFUSE_FORWARDING),
    ],
    ids=["exec", "exec-with-tty", "no-tty", "sftp-subsystem", "port-forwarding"],
)
def test_everything_but_the_app_is_refused_in_one_line(serve, options, command, said):
    served = serve()
    refused = served.run_ssh(options, command)
    assert refused.returncode != 0
    assert said in refused.stderr
    assert not refused.stdout.strip()
    assert not served.apps()


def test_sftp_and_remote_forwarding_are_refused(serve):
    served = serve()
    common = ["-o", f"UserKnownHostsFile={served.known_hosts}", "-o", "BatchMode=yes"]
    common += ["-o", "StrictHostKeyChecking=yes", "-F", "/dev/null"]
    sftp = subprocess.run(
        ["sftp", "-P", str(served.port), *common, "-b", "-", "admin@127.0.0.1"],
        input="ls\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert sftp.returncode != 0
    assert server.REFUSE_SUBSYSTEM in sftp.stderr
    forward = served.run_ssh(["-N", "-o", "ExitOnForwardFailure=yes", "-R", "0:127.0.0.1:22"])
    assert forward.returncode != 0
    assert "forwarding failed" in forward.stderr


def test_the_session_after_the_last_allowed_is_told_so_and_closed(serve):
    served = serve("--max-sessions", "1")
    with served.ssh() as first:
        first.expect("Log in to qmfa")
        with served.ssh() as second:
            second.expect("all sessions are in use (at most 1 at once)")
            assert second.wait() != 0
        assert len(served.apps()) == 1
    assert wait_until(lambda: not served.apps())
    with served.ssh() as third:  # the slot is free again
        third.expect("Log in to qmfa")
    assert served.stop() == 0  # refusals are written at the minute, or as the server stops
    refused = [e for e in served.audit() if e["action"] == "ssh.refused"]
    assert [e["detail"] for e in refused] == ["SSH user 'admin', 1 refused: 1 sessions full"]
    assert refused[0]["origin"].endswith(" from 127.0.0.1")


def test_too_many_connections_from_one_address_are_refused(serve):
    served = serve("--connections-per-minute", "2")
    for _ in range(2):
        assert server.REFUSE_NO_TERMINAL in served.run_ssh(["-T"]).stderr
    refused = served.run_ssh(["-T"])
    assert refused.returncode != 0
    assert "more than 2 connections from your address within a minute" in refused.stderr


def test_a_connection_that_opens_no_session_is_closed_after_the_login_grace(serve):
    served = serve("--login-grace", "2")
    idle = served.run_ssh(["-N"])  # no session, no forwarding: only holds a connection
    assert idle.returncode != 0
    assert "no session was started within 2 s" in idle.stderr


@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGINT], ids=["kill", "ctrl-c"])
def test_killing_the_client_leaves_no_qmfa_process(serve, stop):
    """A client killed or interrupted (Ctrl+C where ssh itself gets it) is a disconnect."""
    served = serve()
    terminal = served.ssh()
    try:
        terminal.expect("Log in to qmfa")
        [app] = served.apps()
        assert os.getpgid(app) == app  # the session's own process group
        terminal.process.send_signal(stop)
        terminal.wait()  # reading: ssh's last writes to a full pty would block its exit
        assert wait_until(lambda: gone(app) and not served.apps())
        with pytest.raises(ProcessLookupError):
            os.killpg(app, 0)  # nothing it started is left either
    finally:
        terminal.close()
    assert wait_until(lambda: [e["action"] for e in served.audit()][:1] == ["ssh.session_closed"])


def test_the_login_timeout_closes_a_session(serve):
    served = serve("--login-timeout", "2")
    with served.ssh() as terminal:
        terminal.expect("Log in to qmfa")
        terminal.expect("nobody logged in within 2 s", timeout=120)
        assert terminal.wait() == 0
    assert wait_until(lambda: not served.apps())


def test_the_idle_timeout_logs_out_and_closes_a_session(serve):
    served = serve("--idle-timeout", "3")
    with served.ssh() as terminal:
        log_in(terminal, served)
        terminal.expect("logged out after 3 s without input", timeout=120)
        assert terminal.wait() == 0


def test_sigterm_closes_every_session_cleanly(serve):
    served = serve()
    with served.ssh() as first, served.ssh("helpdesk") as second:
        first.expect("Log in to qmfa")
        second.expect("Log in to qmfa")
        apps = served.apps()
        assert len(apps) == 2
        served.process.send_signal(signal.SIGTERM)
        for terminal in (first, second):
            terminal.expect("the server is stopping")
            assert terminal.wait() == 0
            # The app left the alternate screen itself before the server's goodbye.
            assert b"\x1b[?1049l" in terminal.received
            assert server.TERMINAL_RESET not in terminal.received
        assert served.process.wait(120) == 0
    assert all(gone(app) for app in apps)
    closed = [e for e in served.audit() if e["action"] == "ssh.session_closed"]
    assert len(closed) == 2


def test_a_key_from_authorized_keys_comes_before_the_app(serve, tmp_path):
    key = tmp_path / "client_key"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True, timeout=60
    )
    authorized = tmp_path / "authorized_keys"
    authorized.write_text((tmp_path / "client_key.pub").read_text())
    served = serve("--authorized-keys", str(authorized))
    without = served.run_ssh(["-T"])
    assert "Permission denied (publickey)" in without.stderr
    argv = ssh_command(served.port, served.known_hosts, "admin")
    argv[argv.index("IdentityFile=/dev/null")] = f"IdentityFile={key}"
    with SshTerminal(argv) as terminal:
        terminal.expect("Log in to qmfa")


@contextlib.contextmanager
def server_in_a_thread(config: server.ServeConfig) -> Iterator[int]:
    """``config``'s server on its own event loop in a thread; its port."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    ports: list[int] = []

    def run() -> None:
        asyncio.set_event_loop(loop)
        serving = server.QmfaServer(config)
        ports.append(loop.run_until_complete(serving.start())[1])
        ready.set()
        loop.run_forever()
        loop.run_until_complete(serving.stop())
        loop.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(60)
    try:
        yield ports[0]
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(60)


@pytest.mark.parametrize(
    ("script", "limit", "said"),
    [
        ("echo 'Log in, never'; exec sleep 1000", "login_timeout", "nobody logged in in time"),
        (
            "echo logged-in >&3; echo 'Logged in, then hung'; exec sleep 1000",
            "idle_timeout",
            "the session was idle too long",
        ),
    ],
    ids=["login", "idle"],
)
def test_the_server_ends_a_session_whose_app_overran_its_limits(tmp_path, script, limit, said):
    """An app that hangs (here a shell that sleeps) is ended by the server all the same."""
    key = asyncssh.generate_private_key("ssh-ed25519")
    config = server.ServeConfig(
        host="127.0.0.1",
        port=0,
        host_key=key,
        tui_env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        tui_argv=["/bin/sh", "-c", script],
        login_timeout=3600,
        idle_timeout=3600,
        backstop_seconds=1,
        log=lambda line: None,
    )
    config = dataclasses.replace(
        config,
        login_timeout=1 if limit == "login_timeout" else 3600,
        idle_timeout=1 if limit == "idle_timeout" else 3600,
    )
    with server_in_a_thread(config) as port:
        known_hosts = tmp_path / "known_hosts"
        known_hosts.write_text(f"[127.0.0.1]:{port} {host_key.public_line(key)}\n")
        with SshTerminal(ssh_command(port, known_hosts)) as terminal:
            terminal.expect("Log in, never", "Logged in, then hung")
            terminal.expect(said, timeout=120)
            assert terminal.wait() == 0


def test_serve_refuses_a_listen_address_without_a_port_and_a_missing_database(tmp_path):
    url = f"sqlite:///{tmp_path}/x.db"
    bad = qmfa("serve", "--listen", "localhost", "--database", url)
    assert (bad.returncode, bad.stderr.count("\n")) == (2, 1)
    assert "give HOST:PORT" in bad.stderr
    missing = qmfa("serve", "--database", url)
    assert (missing.returncode, missing.stderr.count("\n")) == (1, 1)
    assert "There is no database" in missing.stderr
    assert not list(tmp_path.glob("x*"))  # nothing made: no database, no host key
