"""The main menu: every entry opens its screen with Enter and with a click."""

from __future__ import annotations

import pytest
from helpers import admin
from textual.widgets import OptionList
from tui import SIZE, wait_until

from qmfa_tui.app import QmfaApp
from qmfa_tui.screens.login import LoginScreen
from qmfa_tui.screens.main import MainScreen, menu_options
from qmfa_tui.screens.settings import SettingsScreen
from qmfa_tui.screens.user_edit import UserEditScreen
from qmfa_tui.screens.users import UsersScreen

# Each entry of an admin's menu and the screen it lands on (None: logged out).
ENTRIES = [
    ("users", UsersScreen),
    ("settings", SettingsScreen),
    ("my_account", UserEditScreen),
    ("log_out", LoginScreen),
]


def landed(app: QmfaApp, expected: type) -> bool:
    if expected is LoginScreen:
        return app.session is None and isinstance(app.screen, LoginScreen)
    return isinstance(app.screen, expected)


async def open_menu(pilot) -> OptionList:
    app = pilot.app
    app.log_in(admin())
    await wait_until(pilot, lambda: isinstance(app.screen, MainScreen) and app.is_admin)
    menu = app.screen.query_one("#menu", OptionList)
    assert [option.id for option in menu.options] == [entry for entry, _ in ENTRIES]
    return menu


@pytest.mark.parametrize(("entry", "expected"), ENTRIES)
async def test_enter_on_each_menu_entry_opens_it(database, fixed_clock, entry, expected):
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        menu = await open_menu(pilot)
        assert app.focused is menu
        await pilot.press(*["down"] * [e for e, _ in ENTRIES].index(entry))
        assert menu.highlighted_option is not None and menu.highlighted_option.id == entry
        await pilot.press("enter")
        await wait_until(pilot, lambda: landed(app, expected))


@pytest.mark.parametrize(("entry", "expected"), ENTRIES)
async def test_a_click_on_each_menu_entry_opens_it(database, fixed_clock, entry, expected):
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        menu = await open_menu(pilot)
        index = [e for e, _ in ENTRIES].index(entry)
        # Options are one line each, inside the list's border and padding.
        top = menu.region.y + menu.styles.gutter.top
        await pilot.click(offset=(menu.region.x + 3, top + index))
        await wait_until(pilot, lambda: landed(app, expected))


@pytest.mark.parametrize("size", [SIZE, (60, 20)])
async def test_the_menu_labels_fit_on_one_line(database, fixed_clock, size):
    app = QmfaApp(database)
    async with app.run_test(size=size) as pilot:
        menu = await open_menu(pilot)
        inner = menu.content_region.width
        for option in menu_options(may_manage_users=True, is_admin=True):
            assert len(str(option.prompt)) <= inner, option.prompt
        # One line per option: the list is exactly as tall as its entries.
        assert menu.content_region.height == len(ENTRIES)


async def test_the_menu_follows_the_users_record_and_a_logout_forgets_it(database, fixed_clock):
    """What the menu offers is the service's UserInfo.may_manage_users / is_admin, kept by
    the app: read again when the menu returns, and gone with the session."""
    from helpers import add_user

    from qmfa_tui.services import accounts

    boss = admin()
    holder = add_user(boss, "holder", users_module=True)
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        app.log_in(holder)
        await wait_until(pilot, lambda: isinstance(app.screen, MainScreen) and app.may_manage_users)
        menu = app.screen.query_one("#menu", OptionList)
        assert [o.id for o in menu.options] == ["users", "my_account", "log_out"]
        assert app.user is not None and app.user.username == "holder" and not app.is_admin

        accounts.set_role(boss, "holder", users_module=False)
        await pilot.press("a")  # My Account, then back: the menu reads the user again
        await wait_until(pilot, lambda: isinstance(app.screen, UserEditScreen))
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, MainScreen))
        await wait_until(pilot, lambda: not app.may_manage_users)
        assert [o.id for o in menu.options] == ["my_account", "log_out"]
        await pilot.press("u")  # the hotkey is gone with the entry
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)

        await pilot.press("ctrl+l")
        await wait_until(pilot, lambda: app.session is None)
        assert app.user is None and not app.may_manage_users and not app.is_admin


async def test_the_title_and_key_bars_show_the_session_and_keys_and_answer_clicks(
    database, fixed_clock
):
    from textual.command import CommandPalette

    from qmfa_tui.screens.users import UsersScreen
    from qmfa_tui.widgets.key_bar import KeyBar
    from qmfa_tui.widgets.title_bar import TitleBar

    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        await open_menu(pilot)
        assert str(app.screen.query_one(TitleBar).render()).split() == ["⭘", "qmfa", "—", "admin"]
        keys = app.screen.query_one(KeyBar).shown_keys()
        shown = [(binding.key, binding.description) for binding, _ in keys]
        assert shown[0] == ("u", "Users") and shown[-1] == ("ctrl+p", "palette")
        await pilot.click(TitleBar, offset=(10, 0))  # the title: nothing happens
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)
        await pilot.click(KeyBar, offset=(3, 0))  # " u Users ": on "Users"
        await wait_until(pilot, lambda: isinstance(app.screen, UsersScreen))
        await pilot.press("escape")
        # The palette opens from the title bar's icon and from its key on the right.
        for bar, x in ((TitleBar, 1), (KeyBar, SIZE[0] - 3)):
            await wait_until(pilot, lambda: isinstance(app.screen, MainScreen))
            await pilot.click(bar, offset=(x, 0))
            await wait_until(pilot, lambda: isinstance(app.screen, CommandPalette))
            await pilot.press("escape")


async def test_the_key_under_the_mouse_is_lit(database, fixed_clock):
    from textual.widgets import OptionList

    from qmfa_tui.widgets.key_bar import KeyBar

    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        await open_menu(pilot)
        bar = app.screen.query_one(KeyBar)

        def backgrounds() -> list[object]:
            return [
                segment.style.bgcolor if segment.style else None
                for segment in bar.render_line(0)
                for _ in segment.text
            ]

        plain = backgrounds()[0]

        def lit_cells() -> list[int]:
            """The columns drawn on another background than the bar's."""
            return [x for x, background in enumerate(backgrounds()) if background != plain]

        assert lit_cells() == []
        await pilot.hover(KeyBar, offset=(3, 0))  # " u Users ": columns 0-8
        await pilot.pause()
        assert lit_cells() == list(range(9))
        await pilot.hover(OptionList)
        await pilot.pause()
        assert lit_cells() == []
