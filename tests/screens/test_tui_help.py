"""Every key findable: ? and F1 open the help of the screen on top (what it is for, its
keys), the key bar keeps Quit and Help at 60 columns, and User Edit's buttons have keys."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_textual_snapshot
from helpers import PASSWORD, add_user, admin, register
from textual.command import CommandList
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Input
from tui import log_in_and_press, log_in_password, settle, wait_until

from qmfa_tui.app import QmfaApp
from qmfa_tui.screens.audit_event import AuditEventScreen
from qmfa_tui.screens.confirm import ConfirmScreen
from qmfa_tui.screens.help import PLAIN_WORDS, HelpScreen
from qmfa_tui.screens.login import LoginScreen
from qmfa_tui.screens.main import MainScreen
from qmfa_tui.screens.mandatory import MandatoryModal
from qmfa_tui.screens.password import (
    ChangePasswordModal,
    ConfirmPasswordModal,
    TemporaryPasswordModal,
)
from qmfa_tui.screens.plain_codes import PlainCodesScreen
from qmfa_tui.screens.profile import EditProfileModal, RoleModal
from qmfa_tui.screens.recovery_codes import RecoveryCodesScreen
from qmfa_tui.screens.resync import ResyncScreen
from qmfa_tui.screens.save_file import SaveFileScreen
from qmfa_tui.screens.security_code import SecurityCodeScreen
from qmfa_tui.screens.settings import SettingsScreen
from qmfa_tui.screens.user_edit import UserEditScreen, open_user_edit
from qmfa_tui.screens.users import UsersScreen
from qmfa_tui.services import accounts, audit, policy
from qmfa_tui.services.session import Actor
from qmfa_tui.widgets.key_bar import KeyBar
from qmfa_tui.widgets.tab_strip import TabStrip

SIZES = [(80, 24), (60, 20)]

# As tests/screens/snapshots/test_snapshots.py: pytest-textual-snapshot 1.0 names its
# extension the syrupy 4 way.
pytest_textual_snapshot.SVGImageExtension.file_extension = "svg"


def key_bar_line(app: QmfaApp) -> str:
    """The key bar as drawn, at the terminal's width."""
    return "".join(segment.text for segment in app.screen.query_one(KeyBar).render_line(0))


def drawn_keys(app: QmfaApp) -> list[str]:
    """The keys the bar draws, each "key description" (the palette's last)."""
    left, _, palette = key_bar_line(app).partition("▏")
    return [part.strip() for part in left.split("  ") if part.strip()] + (
        [palette.strip()] if palette else []
    )


def offered(app: QmfaApp) -> list[tuple[str, str]]:
    """Each key the bar offers, whatever the width: (as drawn, description)."""
    bar = app.screen.query_one(KeyBar)
    return [(app.get_key_display(binding), binding.description) for binding, _ in bar.shown_keys()]


def help_keys(app: QmfaApp) -> dict[str, str]:
    """Each key the help lists, and its words."""
    assert isinstance(app.screen, HelpScreen)
    return {key: entry.description for entry in app.screen.keys for key in entry.keys}


def help_text(app: QmfaApp) -> str:
    assert isinstance(app.screen, HelpScreen)
    return "\n".join(
        str(app.screen.query_one(selector).render()) for selector in ("#purpose", "#keys")
    )


def team(clock) -> tuple[Actor, Actor]:
    """The admin (2FA on) and alice (2FA on)."""
    boss = admin()
    register(boss, clock)
    alice = add_user(boss, "alice")
    register(alice, clock)
    return boss, alice


async def to_login(pilot: Pilot, boss: Actor) -> None:
    await settle(pilot)


async def to_security_code(pilot: Pilot, boss: Actor) -> None:
    await settle(pilot)
    await log_in_password(pilot, "admin", PASSWORD)


async def to_main(pilot: Pilot, boss: Actor) -> None:
    pilot.app.log_in(boss)  # type: ignore[attr-defined]
    await settle(pilot)


async def to_users(pilot: Pilot, boss: Actor) -> None:
    await log_in_and_press(pilot, boss, "u")


async def to_settings(pilot: Pilot, boss: Actor) -> None:
    await log_in_and_press(pilot, boss, "g")


async def to_user_edit(pilot: Pilot, boss: Actor) -> None:
    await to_main(pilot, boss)
    open_user_edit(pilot.app.screen, boss, "alice")
    await settle(pilot)


Opener = Callable[[Pilot, Actor], Awaitable[None]]
# A text field has the focus on the login steps: `?` would be typed there, F1 opens help.
SCREENS: list[tuple[Opener, type[Screen[None]], str]] = [
    (to_login, LoginScreen, "f1"),
    (to_security_code, SecurityCodeScreen, "f1"),
    (to_main, MainScreen, "question_mark"),
    (to_users, UsersScreen, "question_mark"),
    (to_user_edit, UserEditScreen, "question_mark"),
    (to_settings, SettingsScreen, "question_mark"),
]


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize(("opener", "expected", "key"), SCREENS)
async def test_help_opens_on_each_screen_with_its_purpose_and_keys(
    database, fixed_clock, size, opener, expected, key
):
    boss, _ = team(fixed_clock)
    app = QmfaApp(database)
    async with app.run_test(size=size) as pilot:
        await opener(pilot, boss)
        assert type(app.screen) is expected
        keys = offered(app)
        assert ("^q", "Quit") in keys
        await pilot.press(key)
        await settle(pilot)
        text = help_text(app)
        assert expected.HELP and expected.HELP in text.replace("\n", " ")
        listed = help_keys(app)
        for display, description in keys:  # every key of the key bar, with its words
            assert listed[display] == PLAIN_WORDS.get(description, description)
            assert listed[display] in text
        dialog = app.screen.query_one("#dialog")
        assert app.screen.region.contains_region(dialog.region)  # scrolls when taller
        await pilot.press("escape")
        await settle(pilot)
        assert type(app.screen) is expected
        await pilot.press("f1")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("f1")  # again: closes
        await settle(pilot)
        assert type(app.screen) is expected


async def test_question_mark_closes_the_help_it_opened(database, fixed_clock):
    boss, _ = team(fixed_clock)
    app = QmfaApp(database)
    async with app.run_test(size=SIZES[0]) as pilot:
        await to_main(pilot, boss)
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        assert drawn_keys(app) == ["esc Close", "^q Quit"]  # F1 closes: not "Help" here
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, MainScreen)


async def test_question_mark_in_a_text_field_types_it_and_f1_still_helps(database, fixed_clock):
    boss, _ = team(fixed_clock)
    app = QmfaApp(database)
    async with app.run_test(size=SIZES[0]) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")  # the login form's username field
        assert app.screen.query_one("#username", Input).value == "?"
        await to_users(pilot, boss)
        await pilot.press("slash")  # the search field
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, UsersScreen)
        assert app.screen.query_one("#search", Input).value == "?"
        assert "F1 Help" in drawn_keys(app)  # ? types here: the bar names F1
        await pilot.press("f1")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, UsersScreen)
        assert app.screen.query_one("#search", Input).value == "?"


@pytest.mark.parametrize("opener", [to_main, to_users, to_user_edit, to_settings])
async def test_the_key_bar_at_60_columns_keeps_quit_help_and_palette_and_drops_whole_keys(
    database, fixed_clock, opener
):
    boss, _ = team(fixed_clock)
    app = QmfaApp(database)
    async with app.run_test(size=(60, 20)) as pilot:
        await opener(pilot, boss)
        drawn = drawn_keys(app)
        assert drawn[-3:] == ["^q Quit", "? Help", "^p palette"]
        whole = [f"{display} {description}" for display, description in offered(app)]
        assert drawn == [key for key in whole if key in drawn]  # none cut, order kept
        own = whole[: whole.index("^q Quit")]
        escape = [key for key in own if key.startswith("esc ")]
        assert escape == [key for key in drawn if key.startswith("esc ")]  # Esc drops last
        others = [key for key in own if key not in escape]
        still = [key for key in drawn[:-3] if key not in escape]
        assert still == others[: len(still)]  # the others drop from the end
        assert len(key_bar_line(app)) == 60


async def test_the_main_key_bar_shows_every_key_at_80_columns(database, fixed_clock):
    boss, _ = team(fixed_clock)
    app = QmfaApp(database)
    async with app.run_test(size=SIZES[0]) as pilot:
        await to_main(pilot, boss)
        assert drawn_keys(app) == [
            "u Users",
            "g Settings",
            "a My Account",
            "^l Log out",
            "^q Quit",
            "? Help",
            "^p palette",
        ]


async def test_the_audit_pages_keys_are_in_the_key_bar(database, fixed_clock):
    boss, _ = team(fixed_clock)
    app = QmfaApp(database)
    async with app.run_test(size=SIZES[0]) as pilot:
        await to_settings(pilot, boss)
        pages = {("n", "Older events"), ("p", "Newer events")}
        assert not pages & set(offered(app))  # the General tab has no pages
        await pilot.click("#tabs", offset=(22, 0))  # the "Audit log" tab
        await settle(pilot)
        assert pages <= set(offered(app))


@pytest.mark.parametrize("size", SIZES)
async def test_user_edit_keys_follow_its_buttons_and_the_remove_key_removes_after_asking(
    database, fixed_clock, size
):
    boss, _ = team(fixed_clock)
    app = QmfaApp(database)
    async with app.run_test(size=size) as pilot:
        await to_user_edit(pilot, boss)
        keys = dict(offered(app))
        assert keys["s"] == "Show codes" and "x" not in keys and "c" not in keys
        assert keys["d"] == "Download .txt"
        await pilot.press("d")
        await settle(pilot)
        assert isinstance(app.screen, SaveFileScreen)
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("x")  # no Remove button yet: nothing happens
        await settle(pilot)
        assert isinstance(app.screen, UserEditScreen)
        assert accounts.get_user(boss, "alice").two_factor

        await pilot.press("s")  # Show
        await settle(pilot)
        assert "c" in dict(offered(app))  # Copy came with the codes
        await pilot.press("c")
        await settle(pilot)
        assert "Sent the codes" in str(app.screen.query_one("#status").render())

        await pilot.press("enter")  # the toggle (focused): Remove appears, and its key
        await settle(pilot)
        assert dict(offered(app))["x"] == "Remove"
        assert "r" not in dict(offered(app))  # Resync: alice's phone, not the admin's
        await pilot.press("x")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("escape")  # Cancel: nothing removed
        await settle(pilot)
        assert accounts.get_user(boss, "alice").two_factor
        await pilot.press("x")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("shift+tab", "enter")  # from Cancel (the default) to Remove
        await settle(pilot)
        assert isinstance(app.screen, UserEditScreen)
        assert not accounts.get_user(boss, "alice").two_factor
        keys = dict(offered(app))
        assert "x" not in keys and "s" not in keys  # gone with the device and its buttons
    events = audit.list_events(boss, action="device.removed")
    assert [(e.actor, e.target) for e in events] == [("admin", "alice")]


async def test_my_account_has_the_resync_key(database, fixed_clock):
    boss, _ = team(fixed_clock)
    app = QmfaApp(database)
    async with app.run_test(size=SIZES[0]) as pilot:
        await log_in_and_press(pilot, boss, "a")
        assert isinstance(app.screen, UserEditScreen) and app.screen.is_self
        await pilot.press("enter")
        await settle(pilot)
        assert dict(offered(app))["r"] == "Resync"  # one's own phone: Resync is there
        await pilot.press("r")
        await settle(pilot)
        assert isinstance(app.screen, ResyncScreen)


async def test_help_over_a_modal_lists_the_modals_keys(database, fixed_clock):
    boss, _ = team(fixed_clock)
    app = QmfaApp(database)
    async with app.run_test(size=SIZES[0]) as pilot:
        await to_user_edit(pilot, boss)
        await pilot.press("enter", "x")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        for key in ("question_mark", "f1"):
            await pilot.press(key)
            await settle(pilot)
            text = help_text(app)
            assert ConfirmScreen.HELP in text.replace("\n", " ")
            assert help_keys(app)["esc"] == "Cancel" and "x" not in help_keys(app)
            help_screen = app.screen
            assert isinstance(help_screen, HelpScreen)
            assert [e.keys for e in help_screen.keys if e.description == "Help"] == [("?", "F1")]
            await pilot.press("escape")
            await settle(pilot)
            assert isinstance(app.screen, ConfirmScreen)


async def test_the_palettes_keys_entry_opens_the_help_and_esc_closes_it(database, fixed_clock):
    boss, _ = team(fixed_clock)
    app = QmfaApp(database)
    async with app.run_test(size=SIZES[0]) as pilot:
        await to_main(pilot, boss)
        await pilot.press("ctrl+p")
        await settle(pilot)
        await pilot.press(*"keys")

        def keys_listed_first() -> bool:
            commands = app.screen.query_one(CommandList)
            return commands.option_count > 0 and "Keys" in str(
                commands.get_option_at_index(0).prompt
            )

        await wait_until(pilot, keys_listed_first)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen))
        assert "Users" in help_text(app)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, MainScreen)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "60x20"])
def test_help_picture(snap_compare, database, fixed_clock, size):
    boss, _ = team(fixed_clock)
    app = QmfaApp(database)
    app.animation_level = "none"
    app.theme = "textual-dark"

    async def steps(pilot: Pilot) -> None:
        await to_main(pilot, boss)
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)

    assert snap_compare(app, terminal_size=size, run_before=steps)


CODES = [f"{number:04}-{number:04}" for number in range(8)]
MODALS: dict[str, Callable[[Actor], Screen[Any]]] = {
    "confirm": lambda boss: ConfirmScreen("Remove the device?", "It cannot be undone."),
    "resync": lambda boss: ResyncScreen(boss),
    "save file": lambda boss: SaveFileScreen("Export", Path("/tmp/users.csv"), lambda: ""),
    "mandatory": lambda boss: MandatoryModal(boss, 24),
    "change password": lambda boss: ChangePasswordModal(boss),
    "confirm password": lambda boss: ConfirmPasswordModal(boss, "remove your device"),
    "temporary password": lambda boss: TemporaryPasswordModal("alice", "Temp-pass-1234"),
    "edit profile": lambda boss: EditProfileModal(boss, accounts.get_user(boss, "alice")),
    "role": lambda boss: RoleModal(boss, accounts.get_user(boss, "alice")),
    "audit event": lambda boss: AuditEventScreen(audit.list_events(boss)[0]),
    "recovery codes": lambda boss: RecoveryCodesScreen("alice", CODES, "qmfa"),
    "plain codes": lambda boss: PlainCodesScreen("alice", CODES),
}


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "60x20"])
@pytest.mark.parametrize("name", list(MODALS))
async def test_every_modal_key_bar_shows_quit_and_help(database, fixed_clock, size, name):
    boss, _ = team(fixed_clock)
    app = QmfaApp(database)
    async with app.run_test(size=size) as pilot:
        await to_main(pilot, boss)
        await app.push_screen(MODALS[name](boss))
        await settle(pilot)
        drawn = drawn_keys(app)
        assert "^q Quit" in drawn, drawn
        helps = [key for key in drawn if key.endswith(" Help")]
        assert helps in (["? Help"], ["F1 Help"]), drawn
        help_key = "f1" if helps == ["F1 Help"] else "question_mark"
        modal = app.screen
        await pilot.press(help_key)  # the key the bar names opens the help
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is modal


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "60x20"])
async def test_settings_s_key_saves_the_grace_period_and_is_shown(database, fixed_clock, size):
    boss, _ = team(fixed_clock)
    app = QmfaApp(database)
    async with app.run_test(size=size) as pilot:
        await to_settings(pilot, boss)
        await wait_until(pilot, lambda: not app.screen.query_one("#grace", Input).disabled)
        assert "s Save grace period" in drawn_keys(app)
        app.screen.query_one("#grace", Input).value = "36"
        app.screen.query_one("#mandatory").focus()  # a text field would take the `s`
        await pilot.press("s")
        await wait_until(pilot, lambda: policy.instance_info().grace_period_hours == 36)
        events = audit.list_events(boss, action="settings.grace_period")
        assert [event.actor for event in events] == ["admin"]
        await pilot.press("question_mark")
        await settle(pilot)
        assert help_keys(app)["s"] == "Save grace period"
        await pilot.press("escape")
        await settle(pilot)
        app.screen.query_one(TabStrip).active = "audit"
        await settle(pilot)
        assert "s" not in dict(offered(app))  # the audit tab: no Save there


async def to_recovery_login(pilot: Pilot, boss: Actor) -> None:
    await to_security_code(pilot, boss)
    await pilot.press("ctrl+r")
    await settle(pilot)


@pytest.mark.parametrize(
    "opener", [*(opener for opener, _, _ in SCREENS), to_recovery_login], ids=lambda o: o.__name__
)
async def test_every_screen_at_60_columns_shows_quit_and_a_help_key_that_works(
    database, fixed_clock, opener
):
    boss, _ = team(fixed_clock)
    app = QmfaApp(database)
    async with app.run_test(size=(60, 20)) as pilot:
        await opener(pilot, boss)
        screen = app.screen
        drawn = drawn_keys(app)
        assert "^q Quit" in drawn, drawn
        helps = [key for key in drawn if key.endswith(" Help")]
        assert helps in (["? Help"], ["F1 Help"]), drawn
        await pilot.press("f1" if helps == ["F1 Help"] else "question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is screen
