"""The app as `qmfa serve` starts it for an SSH session: the SSH username pre-filled, and
no file written on the server."""

from __future__ import annotations

import inspect
import io
import tempfile
from collections.abc import Callable
from pathlib import Path

import platformdirs
import pytest
from helpers import PASSWORD, add_user, admin, register
from textual.pilot import Pilot
from textual.widgets import Button, Input
from tui import SIZE, screen_text, settle, wait_until

from qmfa_tui.app import QmfaApp
from qmfa_tui.database_url import data_dir
from qmfa_tui.screens.commands import NavigationCommands
from qmfa_tui.screens.login import LoginScreen
from qmfa_tui.screens.recovery_codes import RecoveryCodesScreen
from qmfa_tui.screens.save_file import NO_FILES_OVER_SSH, SaveFileScreen
from qmfa_tui.screens.security_code import SecurityCodeScreen
from qmfa_tui.screens.user_edit import UserEditScreen, open_user_edit
from qmfa_tui.served_limits import ServedLimits
from screens.test_tui_modals import open_modal


async def test_the_ssh_username_is_pre_filled_and_the_password_is_asked_next(database, fixed_clock):
    register(admin(), fixed_clock)
    app = QmfaApp(database, served=ServedLimits(120, 900, username="admin"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert type(app.screen).__name__ == LoginScreen.__name__
        assert app.screen.query_one("#username", Input).value == "admin"
        assert app.screen.focused is app.screen.query_one("#password", Input)
        for key in PASSWORD:
            await pilot.press(key if key != " " else "space")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, SecurityCodeScreen)  # authentication stays qmfa's own


async def test_the_username_is_not_pre_filled_without_a_served_session(database):
    admin()
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.screen.query_one("#username", Input).value == ""
        assert app.screen.focused is app.screen.query_one("#username", Input)


# Over SSH a saved file would be written on the server, as the account that owns the
# database, at a path the person types: the app offers Copy (the client's clipboard) instead.


def served_app(database, downloads) -> QmfaApp:
    return QmfaApp(database, downloads_dir=downloads, served=ServedLimits(120, 900))


async def test_served_recovery_codes_offer_copy_and_save_no_file(database, fixed_clock, tmp_path):
    boss = admin()
    device = register(boss, fixed_clock)
    downloads = tmp_path / "Downloads"
    app = served_app(database, downloads)
    async with app.run_test(size=SIZE) as pilot:
        app.log_in(boss)
        await settle(pilot)
        await app.push_screen(RecoveryCodesScreen("admin", device.codes, "acme-qa"))
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, RecoveryCodesScreen)
        assert not screen.query("#download")
        assert screen.focused is screen.query_one("#copy", Button)
        assert "no file is saved on the server" in screen_text(app)
        await pilot.press("d")  # the download key does nothing here
        await settle(pilot)
        assert app.screen is screen
        await pilot.press("enter")  # Copy, focused
        await settle(pilot)
        assert app.clipboard.split() == device.codes
    assert not downloads.exists()


async def test_served_user_edit_has_no_download_button(database, fixed_clock, tmp_path):
    boss = admin()
    register(boss, fixed_clock)
    app = served_app(database, tmp_path / "Downloads")
    async with app.run_test(size=SIZE) as pilot:
        app.log_in(boss)
        await settle(pilot)
        open_user_edit(app, boss, "admin")
        await wait_until(pilot, lambda: isinstance(app.screen, UserEditScreen))
        await settle(pilot)
        assert app.screen.query("#show-codes") and not app.screen.query("#download-codes")


async def test_served_mandatory_modal_has_no_export(database, fixed_clock, tmp_path):
    boss = admin()
    register(boss, fixed_clock)
    add_user(boss, "alice")
    app = served_app(database, tmp_path / "Downloads")
    async with app.run_test(size=SIZE) as pilot:
        modal = await open_modal(pilot, boss)
        await wait_until(pilot, lambda: modal.total == 1)  # alice, counted
        assert not modal.query("#export-csv")
        export = app.active_bindings.get("x")
        assert export is None or not export.enabled
        await pilot.press("x")
        await settle(pilot)
        assert app.screen is modal


async def test_the_save_dialog_itself_refuses_over_ssh(database, tmp_path):
    boss = admin()
    downloads = tmp_path / "Downloads"
    app = served_app(database, downloads)
    async with app.run_test(size=SIZE) as pilot:
        app.log_in(boss)
        await settle(pilot)
        await app.push_screen(SaveFileScreen("Save", downloads / "x.txt", lambda: "secret\n"))
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, SaveFileScreen)
        assert NO_FILES_OVER_SSH in screen_text(app)
    assert not downloads.exists()


# Every command the palette offers, run in a served session: nothing is written on the
# server, in the serving account's home, the data directory, the temp directory or the
# working directory (Textual's save_screenshot writes there).


@pytest.fixture
def server_directories(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    home, data, temp, work = (tmp_path / name for name in ("home", "data-home", "tmp", "work"))
    for directory in (home, data, temp, work):
        directory.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for name in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME", "XDG_DOWNLOAD_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(data))
    monkeypatch.setenv("TMPDIR", str(temp))
    monkeypatch.setattr(tempfile, "tempdir", None)  # tempfile reads TMPDIR again
    monkeypatch.chdir(work)
    # The downloads folder as platformdirs finds it (conftest points it at tmp_path).
    monkeypatch.setattr(
        platformdirs, "user_downloads_path", lambda: platformdirs.PlatformDirs().user_downloads_path
    )
    assert platformdirs.user_downloads_path().is_relative_to(home)
    assert data_dir().is_relative_to(data) and tempfile.gettempdir() == str(temp)
    return [home, data, temp, work]


def files_under(directories: list[Path]) -> list[Path]:
    return sorted(path for directory in directories for path in directory.rglob("*"))


def system_commands(app: QmfaApp) -> dict[str, Callable[[], object]]:
    return {command.title: command.callback for command in app.get_system_commands(app.screen)}


async def navigation_commands(app: QmfaApp) -> dict[str, Callable[[], object]]:
    provider = NavigationCommands(app.screen)
    found = {str(hit.text): hit.command async for hit in provider.discover()}
    for name in found:  # what a search finds is what discovery shows
        assert [str(hit.text) async for hit in provider.search(name)][:1] == [name]
    return found


async def run_command(pilot: Pilot, command: Callable[[], object]) -> None:
    result = command()
    if inspect.isawaitable(result):
        await result
    await settle(pilot)
    await pilot.pause(0.3)  # Textual's Screenshot runs on a 0.1 s timer
    await settle(pilot)


async def run_every_system_command(pilot: Pilot, app: QmfaApp) -> set[str]:
    """Each of the screen's palette commands but Quit, back to this screen after each."""
    screen = app.screen
    commands = system_commands(app)
    for title, command in commands.items():
        if title != "Quit":
            await run_command(pilot, command)
            while app.screen is not screen:
                app.pop_screen()
                await settle(pilot)
    return set(commands)


def shown_notices(app: QmfaApp) -> list[str]:
    return [notice.message for notice in app._notifications]


async def test_no_palette_command_writes_a_file_on_the_server(
    database, fixed_clock, server_directories
):
    boss = admin()
    register(boss, fixed_clock)
    app = QmfaApp(database, served=ServedLimits(120, 900))
    offered: set[str] = set()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert await navigation_commands(app) == {}  # nothing before login
        offered |= await run_every_system_command(pilot, app)
        app.log_in(boss)
        await settle(pilot)
        navigation = await navigation_commands(app)
        assert set(navigation) == {
            "Customization > Users",
            "Customization > General Settings & Audit",
            "My Account",
            "Log out",
        }
        offered |= await run_every_system_command(pilot, app)
        for name, command in navigation.items():
            if name == "Log out":
                continue
            await run_command(pilot, command)
            assert app.screen is not app.screen_stack[0]  # the screen opened
            offered |= await run_every_system_command(pilot, app)
            while len(app.screen_stack) > 1:
                app.pop_screen()
                await settle(pilot)
        await app.push_screen(RecoveryCodesScreen("admin", ["a" * 10] * 8, "acme-qa"))
        offered |= await run_every_system_command(pilot, app)
        await run_command(pilot, navigation["Log out"])
        assert isinstance(app.screen, LoginScreen)
        await run_command(pilot, system_commands(app)["Quit"])
    assert "Screenshot" not in offered and {"Theme", "Keys", "Quit"} <= offered
    assert files_under(server_directories) == []


async def test_a_served_session_refuses_saving_however_it_is_asked(database, server_directories):
    boss = admin()
    app = QmfaApp(database, served=ServedLimits(120, 900))
    home = server_directories[0]
    async with app.run_test(size=SIZE) as pilot:
        app.log_in(boss)
        await settle(pilot)
        await app.run_action("screenshot")  # a binding's or a link's action string
        await app.run_action("app.screenshot('x.svg', '.')")
        app.action_screenshot("y.svg", str(home))
        assert app.deliver_screenshot() is None
        assert app.save_screenshot("z.svg", str(home)) == ""
        assert app.deliver_text(io.StringIO("secret"), save_filename="a.txt") is None
        assert app.deliver_binary(io.BytesIO(b"secret"), save_filename="b.bin") is None
        # A path is not even opened (Textual's would read it, or fail on a missing one).
        assert app.deliver_text(home / "missing.txt") is None
        assert app.deliver_binary(str(home / "missing.bin")) is None
        await pilot.pause(0.3)
        await settle(pilot)
        notices = shown_notices(app)
        assert notices and set(notices) == {NO_FILES_OVER_SSH}
        assert not any(str(home) in notice for notice in notices)  # no server path shown
    assert files_under(server_directories) == []
