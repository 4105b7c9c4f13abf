"""`qmfa` on a terminal paints the login screen first and opens the database right after:
Log in waits for it, keys typed meanwhile are kept, and a database that cannot be used
ends the app with the one line and exit code it gave before the app started."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from helpers import PASSWORD, admin, code_at, register
from textual.widgets import Input
from tui import SIZE, burst, screen_text, wait_until

from qmfa_tui import cli, crash, storage
from qmfa_tui.app import QmfaApp
from qmfa_tui.screens.login import LoginScreen
from qmfa_tui.screens.main import MainScreen
from qmfa_tui.screens.security_code import SecurityCodeScreen
from qmfa_tui.services import accounts, demo

# What the first paint needs none of (the login form is Textual and qmfa's own widgets).
NOT_BEFORE_THE_FIRST_PAINT = (
    "peewee",
    "playhouse",
    "sqlite3",
    "cryptography",
    "argon2",
    "pyotp",
    "psycopg",
    "psycopg2",
    "segno",
    "qmfa_tui.storage",
    "qmfa_tui.services.login",
    "qmfa_tui.screens.preparing",  # after login
)

FIRST_PAINT_PROBE = textwrap.dedent("""
    import asyncio, sys
    from qmfa_tui import cli
    from qmfa_tui.app import QmfaApp

    loaded = []

    def at_first_paint(self):
        loaded.append(type(self.screen).__name__)
        loaded.extend(name for name in NAMES if sys.modules.get(name) is not None)
        self.exit()

    QmfaApp._open_after_paint = at_first_paint
    args = cli.build_parser().parse_args(["--database", sys.argv[1]])
    app = cli.prepare_app(args, open_after_paint=True)

    async def main():
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()

    asyncio.run(main())
    print(*loaded)
""")


@pytest.mark.parametrize("scheme", ["sqlite:////nowhere/qmfa.db", "postgresql://qmfa@db/qmfa"])
def test_the_first_paint_imports_no_database_crypto_or_otp_library(scheme):
    probe = f"NAMES = {NOT_BEFORE_THE_FIRST_PAINT!r}\n" + FIRST_PAINT_PROBE
    shown = subprocess.run(
        [sys.executable, "-c", probe, scheme], capture_output=True, text=True, timeout=120
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.split() == ["LoginScreen"], shown.stdout


def gated_open(database: storage.OpenDatabase, gate: threading.Event):
    """Close ``database``; the app's opener opens it again once ``gate`` is set."""
    storage.close_database()

    def opener() -> storage.OpenDatabase:
        gate.wait(timeout=30)
        return storage.open_database(database.url, key_file=database.key_file, create=False)

    return opener


async def test_log_in_waits_for_the_database_and_keeps_what_was_typed(database, fixed_clock):
    device = register(admin(), fixed_clock)
    gate = threading.Event()
    app = QmfaApp(opener=gated_open(database, gate))
    try:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            assert isinstance(app.screen, LoginScreen)
            assert "Log in to qmfa" in screen_text(app)
            # The whole login typed at once, before the database is open.
            code = code_at(device.secret, fixed_clock.t)
            await burst(pilot, f"admin\t{PASSWORD}\n{code}\n")
            for _ in range(5):
                await pilot.pause(0.02)
            assert isinstance(app.screen, LoginScreen)
            assert app.session is None
            assert "Checking your password" in screen_text(app)
            assert app.screen.query_one("#username", Input).value == "admin"
            assert not app.database_is_open
            gate.set()
            await wait_until(pilot, lambda: isinstance(app.screen, MainScreen))
            assert app.session is not None and app.session.username == "admin"
            assert app.database.url == database.url
    finally:
        gate.set()


async def test_a_password_typed_before_the_database_opens_is_checked_once_it_is(
    database, fixed_clock
):
    register(admin(), fixed_clock)
    gate = threading.Event()
    app = QmfaApp(opener=gated_open(database, gate))
    try:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            await burst(pilot, f"admin\t{PASSWORD}\n")
            await pilot.pause(0.05)
            assert isinstance(app.screen, LoginScreen)
            gate.set()
            await wait_until(pilot, lambda: isinstance(app.screen, SecurityCodeScreen))
    finally:
        gate.set()


# Each way a database cannot be used, made in tmp_path; the URL to give `qmfa`.
def _missing_file(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/nowhere/qmfa.db"


def _not_qmfa(tmp_path: Path) -> str:
    (tmp_path / "empty.db").touch()
    return f"sqlite:///{tmp_path}/empty.db"


def _no_users(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path}/nobody.db"
    storage.open_database(url)
    storage.close_database()
    return url


def _missing_key(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path}/keyless.db"
    storage.open_database(url)
    demo.create_demo(3)
    storage.close_database()
    (tmp_path / "keyless.key").unlink()
    return url


def _unreachable_postgresql(tmp_path: Path) -> str:
    return "postgresql://qmfa@127.0.0.1:1/qmfa?connect_timeout=2"


FAILURES = {
    "missing file": (_missing_file, "There is no database"),
    "no qmfa schema": (_not_qmfa, "holds no qmfa database yet"),
    "no users": (_no_users, "has no users yet"),
    "missing key": (_missing_key, "keyless.key"),
    "unreachable PostgreSQL": (_unreachable_postgresql, "Cannot open the database"),
}


def run_qmfa(monkeypatch, capsys, url: str, *, after_paint: bool) -> tuple[int, str]:
    monkeypatch.setattr(cli, "_paints_on_a_terminal", lambda: after_paint)
    monkeypatch.setattr(QmfaApp, "run", functools.partialmethod(QmfaApp.run, headless=True))
    try:
        code = cli.main(["--database", url])
    finally:
        storage.close_database()
    captured = capsys.readouterr()
    assert captured.out == ""
    return code, captured.err


@pytest.mark.parametrize("failure", FAILURES)
def test_a_database_that_cannot_be_used_ends_the_app_as_before_it_started(
    failure, tmp_path, monkeypatch, capsys
):
    make, fragment = FAILURES[failure]
    url = make(tmp_path)
    before = run_qmfa(monkeypatch, capsys, url, after_paint=False)
    after = run_qmfa(monkeypatch, capsys, url, after_paint=True)
    assert after == before
    code, stderr = after
    assert code == 1
    assert stderr.count("\n") == 1 and stderr.startswith("qmfa: ") and fragment in stderr
    assert "Traceback" not in stderr


def test_a_crash_while_opening_after_the_paint_is_one_line_and_a_private_file(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    url = f"sqlite:///{tmp_path}/q.db"
    storage.open_database(url)
    demo.create_demo(3)
    storage.close_database()

    def broken() -> bool:
        secret_value = "hunter2"  # noqa: F841 - what a local in a real crash would hold
        raise RuntimeError("the count broke")

    monkeypatch.setattr(accounts, "any_users", broken)
    code, stderr = run_qmfa(monkeypatch, capsys, url, after_paint=True)
    assert code == crash.EXIT_CRASH
    assert stderr.count("\n") == 1 and "internal error (RuntimeError)" in stderr
    assert "hunter2" not in stderr


def test_on_a_terminal_qmfa_paints_first_and_elsewhere_opens_first(monkeypatch):
    # A pipe (as in scripts and these tests): nothing to paint for, so errors come first.
    with open(os.devnull) as stdin:
        monkeypatch.setattr(sys, "stdin", stdin)
        assert not cli._paints_on_a_terminal()


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["--database", "sqlite:////tmp/q.db"],
        ["--database=sqlite:////tmp/q.db", "--key-file", "k.key"],
        ["--key-file=k.key", "--database", ""],
        ["--database", "a", "--database", "b"],
        ["--data", "sqlite:////tmp/q.db"],  # an abbreviation: the whole parser reads it
        ["--database", "sqlite:////tmp/q.db", "users", "list"],
        ["audit", "--limit", "5"],
    ],
)
def test_the_app_s_command_line_is_read_as_the_whole_parser_reads_it(argv):
    assert vars(cli.parse_arguments(argv)) == vars(cli.build_parser().parse_args(argv))


@pytest.mark.parametrize("argv", [["--database"], ["--database", "--key-file", "k"], ["-x"]])
def test_a_bad_app_command_line_is_refused_as_before(argv, capsys):
    with pytest.raises(SystemExit) as quick:
        cli.parse_arguments(argv)
    said = capsys.readouterr().err
    with pytest.raises(SystemExit) as whole:
        cli.build_parser().parse_args(argv)
    assert (quick.value.code, said) == (whole.value.code, capsys.readouterr().err)
    assert said.startswith("qmfa: ") and said.count("\n") == 1
