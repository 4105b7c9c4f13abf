"""The demo explains itself: `qmfa demo` prints who to log in as and the command that
prints this database's code, and the login steps show it on demo databases only."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import pytest_textual_snapshot
from helpers import PASSWORD, admin, register
from screens.test_tui_layout import on_screen, text_in
from textual.pilot import Pilot
from textual.widgets import Button, Input
from tui import settle, type_into, wait_until

from qmfa_tui import cli, storage
from qmfa_tui.screens.login import LoginScreen
from qmfa_tui.screens.recovery_login import RecoveryLoginScreen
from qmfa_tui.screens.security_code import SecurityCodeScreen
from qmfa_tui.served_limits import LOGIN_TIMEOUT_ENV
from qmfa_tui.services import demo, twofactor

# As test_snapshots does: the pictures are kept as .svg files (syrupy 7 reads this name).
pytest_textual_snapshot.SVGImageExtension.file_extension = "svg"

HINT_START = "Demo: log in as admin / qmfa-demo. Code: "


def qmfa(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "qmfa_tui", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env={**os.environ, **env},
    )


def printed_command(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith(HINT_START)]
    assert len(lines) == 1, stderr
    return lines[0].removeprefix(HINT_START)


def code_in(url: str) -> str:
    """admin's code in the demo database at ``url``, read here rather than by the CLI."""
    storage.open_database(url)
    try:
        return twofactor.demo_security_code("admin")[0]
    finally:
        storage.close_database()


def test_the_printed_command_reads_the_database_the_demo_was_made_in(tmp_path):
    env = {"XDG_DATA_HOME": str(tmp_path / "xdg"), "QMFA_DATABASE_URL": ""}
    default = qmfa("demo", "--users", "8", "--no-launch", cwd=tmp_path, env=env)
    assert default.returncode == 0, default.stderr
    assert printed_command(default.stderr) == "qmfa demo codes admin"

    made = qmfa(
        "--database",
        "sqlite:///big.db",
        "demo",
        "--users",
        "8",
        "--no-launch",
        cwd=tmp_path,
        env=env,
    )
    assert made.returncode == 0, made.stderr
    command = printed_command(made.stderr)
    assert command == "qmfa --database sqlite:///big.db demo codes admin"
    words = shlex.split(command)
    assert words[0] == "qmfa"
    big, other = f"sqlite:///{tmp_path}/big.db", f"sqlite:///{tmp_path}/xdg/qmfa/demo.db"
    for _ in range(3):  # the code of one 30-second step: again if a step ended meanwhile
        expected, elsewhere = code_in(big), code_in(other)
        printed = qmfa(*words[1:], cwd=tmp_path, env=env)
        if code_in(big) == expected:
            break
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout.strip() == expected != elsewhere


def test_the_command_names_a_key_file_and_never_a_password():
    args = cli.parse_arguments(["--key-file", "my key.key"])
    url = "postgresql://qmfa:s3cret@db.internal/demo"
    hint = cli.demo_hint(args, url)
    assert hint == (
        HINT_START + "qmfa --database 'postgresql://qmfa:***@db.internal/demo' "
        "--key-file 'my key.key' demo codes admin"
    )
    served = cli.demo_hint(args, url, served=True)
    assert served == HINT_START + "qmfa demo codes admin (on the server)"


def demo_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.chdir(tmp_path)  # a short URL, as a person types it: the hint stays whole
    url = "sqlite:///shown.db"
    storage.open_database(url, create=True)
    try:
        demo.create_demo(8)
    finally:
        storage.close_database()
    return url


@pytest.mark.parametrize("size", [(80, 24), (60, 20)])
async def test_the_login_steps_show_the_hint_on_a_demo_database(tmp_path, monkeypatch, size):
    url = demo_database(tmp_path, monkeypatch)
    app = cli.prepare_app(cli.parse_arguments(["--database", url]), open_after_paint=True)
    expected = HINT_START + f"qmfa --database {url} demo codes admin"
    try:
        async with app.run_test(size=size) as pilot:
            await wait_until(pilot, lambda: app.screen.query_one("#demo-hint").display)
            assert isinstance(app.screen, LoginScreen)
            on_screen(app, "#form", "#username", "#password", "#submit", "#demo-hint")
            assert text_in(app, app.screen.query_one("#demo-hint")) == expected
            await type_into(pilot, "#username", "admin")
            await type_into(pilot, "#password", demo.DEMO_PASSWORD)
            await wait_until(pilot, lambda: isinstance(app.screen, SecurityCodeScreen))
            on_screen(app, "#form", "#code", "#submit", "#demo-hint")
            assert text_in(app, app.screen.query_one("#demo-hint")) == expected
            await type_into(pilot, "#code", twofactor.demo_security_code("admin")[0])
            await wait_until(pilot, lambda: app.session is not None)
    finally:
        storage.close_database()


async def test_a_served_demo_shows_the_hint_without_the_servers_paths(tmp_path, monkeypatch):
    url = demo_database(tmp_path, monkeypatch)
    monkeypatch.setenv(LOGIN_TIMEOUT_ENV, "60")
    app = cli.prepare_app(cli.parse_arguments(["--database", url]), open_after_paint=True)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_until(pilot, lambda: app.screen.query_one("#demo-hint").display)
            shown = text_in(app, app.screen.query_one("#demo-hint"))
            assert shown == HINT_START + "qmfa demo codes admin (on the server)"
            assert "shown.db" not in shown
    finally:
        storage.close_database()


async def test_no_hint_on_a_database_of_real_users(database, fixed_clock):
    register(admin(), fixed_clock)
    storage.close_database()
    app = cli.prepare_app(cli.parse_arguments(["--database", database.url]))
    assert app.demo_hint is None
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            assert not app.screen.query_one("#demo-hint").display
            await type_into(pilot, "#username", "admin")
            await type_into(pilot, "#password", PASSWORD)
            await wait_until(pilot, lambda: isinstance(app.screen, SecurityCodeScreen))
            assert not app.screen.query("#demo-hint")
            assert "Demo" not in text_in(app, app.screen)
    finally:
        storage.close_database()


@pytest.mark.parametrize("size", [(80, 24), (60, 20)], ids=["80x24", "60x20"])
def test_the_demo_login_steps(snap_compare, tmp_path, monkeypatch, size):
    """The hint above the key bar, the form whole: the password step, then the code's."""
    url = demo_database(tmp_path, monkeypatch)
    monkeypatch.delenv("NO_COLOR", raising=False)  # as test_snapshots.steady does
    monkeypatch.setattr(Button, "_start_active_affect", lambda self: None)
    app = cli.prepare_app(cli.parse_arguments(["--database", url]), open_after_paint=True)
    app.animation_level = "none"
    app.theme = "textual-dark"

    async def run_before(pilot: Pilot) -> None:
        await wait_until(pilot, lambda: app.screen.query_one("#demo-hint").display)
        await type_into(pilot, "#username", "admin")
        await type_into(pilot, "#password", demo.DEMO_PASSWORD)
        await wait_until(pilot, lambda: isinstance(app.screen, SecurityCodeScreen))
        await settle(pilot)
        for field in app.screen.query(Input):
            field.cursor_blink = False
        await settle(pilot)

    try:
        assert snap_compare(app, terminal_size=size, run_before=run_before)
    finally:
        storage.close_database()


@pytest.mark.parametrize("size", [(80, 24), (60, 20)])
async def test_the_recovery_code_step_shows_the_command_that_lists_the_codes(
    tmp_path, monkeypatch, size
):
    url = demo_database(tmp_path, monkeypatch)
    app = cli.prepare_app(cli.parse_arguments(["--database", url]), open_after_paint=True)
    expected = (
        "Demo: log in as admin / qmfa-demo. Recovery codes: "
        f"qmfa --database {url} users recovery-codes admin"
    )
    try:
        async with app.run_test(size=size) as pilot:
            await wait_until(pilot, lambda: app.screen.query_one("#demo-hint").display)
            await type_into(pilot, "#username", "admin")
            await type_into(pilot, "#password", demo.DEMO_PASSWORD)
            await wait_until(pilot, lambda: isinstance(app.screen, SecurityCodeScreen))
            await pilot.press("ctrl+r")
            await wait_until(pilot, lambda: isinstance(app.screen, RecoveryLoginScreen))
            on_screen(app, "#form", "#code", "#submit", "#demo-hint")
            shown = text_in(app, app.screen.query_one("#demo-hint"))
            assert shown == expected
            assert "security code" not in shown.lower()
            listed = qmfa(
                *shlex.split(shown.partition("Recovery codes: ")[2])[1:],
                cwd=tmp_path,
                env={"QMFA_DATABASE_URL": ""},
            )
            assert listed.returncode == 0, listed.stderr
            codes = listed.stdout.split()
            assert len(codes) == 8
            await type_into(pilot, "#code", codes[0])
            await wait_until(pilot, lambda: app.session is not None)
    finally:
        storage.close_database()


async def test_a_served_demo_recovery_step_names_the_server(tmp_path, monkeypatch):
    url = demo_database(tmp_path, monkeypatch)
    monkeypatch.setenv(LOGIN_TIMEOUT_ENV, "60")
    app = cli.prepare_app(cli.parse_arguments(["--database", url]), open_after_paint=True)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_until(pilot, lambda: app.screen.query_one("#demo-hint").display)
            await type_into(pilot, "#username", "admin")
            await type_into(pilot, "#password", demo.DEMO_PASSWORD)
            await wait_until(pilot, lambda: isinstance(app.screen, SecurityCodeScreen))
            await pilot.press("ctrl+r")
            await wait_until(pilot, lambda: isinstance(app.screen, RecoveryLoginScreen))
            shown = text_in(app, app.screen.query_one("#demo-hint"))
            assert shown == (
                "Demo: log in as admin / qmfa-demo. Recovery codes: "
                "qmfa users recovery-codes admin (on the server)"
            )
    finally:
        storage.close_database()
