"""Keys typed ahead of the screen go to the field the focus moves to; a password never shows."""

from __future__ import annotations

from helpers import PASSWORD, add_user, admin, code_at, register
from textual.widgets import Input
from tui import SIZE, burst, screen_text, settle, wait_until

from qmfa_tui.app import QmfaApp
from qmfa_tui.screens.login import LoginScreen
from qmfa_tui.screens.main import MainScreen
from qmfa_tui.screens.recovery_login import RecoveryLoginScreen
from qmfa_tui.screens.security_code import SecurityCodeScreen


async def test_the_whole_login_in_one_burst_lands_on_the_main_screen(database, fixed_clock):
    device = register(admin(), fixed_clock)
    code = code_at(device.secret, fixed_clock.t)
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        username = app.screen.query_one("#username", Input)
        await burst(pilot, f"admin\n{PASSWORD}\n{code}\n")
        await wait_until(pilot, lambda: isinstance(app.screen, MainScreen))
        assert PASSWORD not in username.value and username.value in ("", "admin")
        assert app.session is not None and app.session.username == "admin"


async def test_tab_then_text_goes_to_the_password_field(database, fixed_clock):
    add_user(admin(), "bao")
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        username = app.screen.query_one("#username", Input)
        await burst(pilot, f"bao\t{PASSWORD}\n")
        await wait_until(pilot, lambda: isinstance(app.screen, MainScreen))
        assert app.session is not None and app.session.username == "bao"
        assert PASSWORD not in username.value


async def test_keys_typed_after_the_code_never_reach_the_menu(database, fixed_clock):
    device = register(admin(), fixed_clock)
    code = code_at(device.secret, fixed_clock.t)
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        await burst(pilot, f"admin\n{PASSWORD}\n{code}\nu")  # u: the menu's Users hotkey
        await wait_until(pilot, lambda: isinstance(app.screen, MainScreen))
        for _ in range(5):
            await settle(pilot)
        assert isinstance(app.screen, MainScreen)


async def test_a_refused_password_drops_what_was_typed_for_the_code(database, fixed_clock):
    register(admin(), fixed_clock)
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        await burst(pilot, "admin\nnot the password\n123456\n")
        await wait_until(pilot, lambda: "Wrong username or password" in screen_text(app))
        for _ in range(3):
            await settle(pilot)
        assert isinstance(app.screen, LoginScreen)
        assert app.screen.query_one("#username", Input).value == "admin"
        assert app.screen.query_one("#password", Input).value == ""
        assert app.screen.focused is app.screen.query_one("#password")
        # The keys work normally again afterwards.
        await burst(pilot, f"{PASSWORD}\n")
        await wait_until(pilot, lambda: isinstance(app.screen, SecurityCodeScreen))


async def test_enter_on_the_recovery_link_still_follows_it(database, fixed_clock):
    register(admin(), fixed_clock)
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        await burst(pilot, f"admin\n{PASSWORD}\n")
        await wait_until(pilot, lambda: isinstance(app.screen, SecurityCodeScreen))
        app.screen.set_focus(app.screen.query_one("#use-recovery"))
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, RecoveryLoginScreen))


async def test_both_resync_codes_in_one_burst(database, fixed_clock):
    from qmfa_tui.screens.resync import ResyncScreen
    from qmfa_tui.screens.user_edit import UserEditScreen
    from screens.test_tui_users import own_device_option

    boss = admin()
    device = register(boss, fixed_clock)
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        await own_device_option(pilot, boss, "#resync")
        assert isinstance(app.screen, ResyncScreen)
        phone = fixed_clock.t + 240
        first, second = code_at(device.secret, phone - 30), code_at(device.secret, phone)
        await burst(pilot, f"{first}\n{second}\n")
        await wait_until(pilot, lambda: isinstance(app.screen, UserEditScreen))
        assert "your app's clock is 4 min ahead" in screen_text(app)


async def keys_at_once(pilot, *keys: str) -> None:
    """Each key (a name such as "backspace", or characters typed one by one) sent to the
    app at once, as one read from the terminal would."""
    from textual import events

    driver = pilot.app._driver
    assert driver is not None
    characters = {"enter": "\r", "tab": "\t", "backspace": "\x7f"}
    for key in keys:
        named = key in characters or "+" in key or key in ("left", "right", "home", "end")
        for name in [key] if named else list(key):
            event = events.Key(name, characters.get(name, None if named else name))
            event.set_sender(pilot.app)
            driver.send_message(event)


async def test_a_typo_fixed_in_a_burst_logs_in(database, fixed_clock):
    add_user(admin(), "bao")
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        wrong = PASSWORD[:-1] + "x"
        await keys_at_once(pilot, "bai", "backspace", "o", "tab", wrong, "backspace")
        await keys_at_once(pilot, PASSWORD[-1], "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, MainScreen))
        assert app.session is not None and app.session.username == "bao"


async def test_editing_keys_typed_during_the_password_check_land_in_the_code_in_order(
    database, fixed_clock
):
    device = register(admin(), fixed_clock)
    code = code_at(device.secret, fixed_clock.t)
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        # Typed while the password is checked: held, then replayed into the code field.
        typed = [code[:4], code[5], "left", code[4], "end", "9", "backspace", "enter"]
        await keys_at_once(pilot, "admin", "enter", PASSWORD, "enter", *typed)
        await wait_until(pilot, lambda: isinstance(app.screen, MainScreen))
        assert app.session is not None and app.session.username == "admin"


async def test_a_path_edited_in_a_burst_is_where_the_save_dialog_saves(
    database, fixed_clock, tmp_path
):
    from qmfa_tui.screens.save_file import SaveFileScreen
    from screens.test_tui_save_file import open_dialog, show_codes_screen

    boss = admin()
    device = register(boss, fixed_clock)
    app = QmfaApp(database, downloads_dir=tmp_path / "Downloads")
    async with app.run_test(size=SIZE) as pilot:
        await show_codes_screen(pilot, boss, device.codes)
        await open_dialog(pilot)
        typed = str(tmp_path / "codes.txx")
        await keys_at_once(pilot, "ctrl+u", typed, "backspace", "t", "enter")
        await wait_until(pilot, lambda: not isinstance(app.screen, SaveFileScreen))
        assert (tmp_path / "codes.txt").exists()
        assert not (tmp_path / "codes.txx").exists()


def test_every_text_field_of_every_screen_applies_keys_in_order():
    """A field made with Textual's Input would apply Backspace & co. after later keys."""
    import ast
    from pathlib import Path

    import qmfa_tui

    made_with_input = []
    for source in sorted(Path(qmfa_tui.__file__).parent.rglob("*.py")):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Input":
                made_with_input.append(f"{source.name}:{node.lineno}")
    assert made_with_input == []
