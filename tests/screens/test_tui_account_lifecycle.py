"""The account lifecycle in the app at 80x24: User Edit's Profile buttons, a reset password
shown once, the new password a reset login must choose, and changing one's own."""

from __future__ import annotations

from helpers import PASSWORD, add_user, admin, code_at, login, register
from textual.widgets import Button, Input, Static, Switch
from tui import SIZE, log_in_password, screen_text, settle, type_into, wait_until

from qmfa_tui.app import QmfaApp
from qmfa_tui.screens.confirm import ConfirmScreen
from qmfa_tui.screens.login import LoginScreen
from qmfa_tui.screens.main import MainScreen
from qmfa_tui.screens.password import (
    DIFFERENT,
    ChangePasswordModal,
    ChooseNewPasswordScreen,
    TemporaryPasswordModal,
)
from qmfa_tui.screens.profile import EditProfileModal, RoleModal
from qmfa_tui.screens.security_code import SecurityCodeScreen
from qmfa_tui.screens.user_edit import UserEditScreen, open_user_edit
from qmfa_tui.services import accounts
from qmfa_tui.services import login as login_service
from qmfa_tui.services.session import Actor, shell_actor
from qmfa_tui.storage import Account

NEW_PASSWORD = "my very own passphrase"


def buttons(app: QmfaApp) -> list[str]:
    return [str(b.label) for b in app.screen.query("#profile-actions Button").results(Button)]


async def profile_of(pilot, actor: Actor, username: str) -> UserEditScreen:
    app: QmfaApp = pilot.app
    app.log_in(actor)
    await settle(pilot)
    open_user_edit(app, actor, username)
    await wait_until(pilot, lambda: isinstance(app.screen, UserEditScreen))
    await pilot.press("shift+tab", "left")  # the tabs, then Profile
    await settle(pilot)
    assert app.screen.query_one("#profile-tab").display
    return app.screen  # type: ignore[return-value]


async def press(pilot, selector: str) -> None:
    pilot.app.screen.query_one(selector, Button).press()
    await settle(pilot)


async def test_deactivate_and_activate_with_a_confirmation(database):
    boss = admin()
    add_user(boss, "bob")
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        await profile_of(pilot, boss, "bob")
        assert buttons(app) == ["Deactivate", "Edit name/email", "Reset password", "Role…"]
        await press(pilot, "#deactivate")
        assert isinstance(app.screen, ConfirmScreen)
        assert app.screen.focused is app.screen.query_one("#cancel")  # Enter changes nothing
        await pilot.press("enter")
        await settle(pilot)
        assert Account.get(Account.username == "bob").active
        await pilot.press("a")  # the key of the button shown: Deactivate
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await press(pilot, "#confirm")
        await wait_until(pilot, lambda: buttons(app)[:1] == ["Activate"])
        assert not Account.get(Account.username == "bob").active
        assert "Status:       inactive" in str(app.screen.query_one("#profile", Static).render())
        await pilot.press("a")  # now Activate
        await settle(pilot)
        await press(pilot, "#confirm")
        await wait_until(pilot, lambda: buttons(app)[:1] == ["Deactivate"])
        assert Account.get(Account.username == "bob").active


async def test_reset_password_is_shown_once_and_works_once(database):
    boss = admin()
    add_user(boss, "bob")
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        await profile_of(pilot, boss, "bob")
        await press(pilot, "#reset-password")
        assert isinstance(app.screen, ConfirmScreen)
        await press(pilot, "#confirm")
        await wait_until(pilot, lambda: isinstance(app.screen, TemporaryPasswordModal))
        temporary = str(app.screen.query_one("#temporary", Static).render())
        assert len(temporary) == 23
        assert app.screenshot_refusal() is not None  # a secret on screen: no screenshot
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, UserEditScreen))
        assert temporary not in screen_text(app)
        assert "a new one is due at the next login" in screen_text(app)
    pending = login_service.with_password("bob", temporary)
    assert pending.actor is not None and pending.actor.password_change_due


async def test_who_sees_which_profile_buttons(database):
    boss = admin()
    add_user(boss, "bob")
    helpdesk = add_user(boss, "helpdesk", users_module=True)
    accounts.create_user(boss, "lena", auth_source="ldap")
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        await profile_of(pilot, boss, "lena")
        assert buttons(app) == ["Deactivate", "Role…"]
        assert "managed in LDAP" in screen_text(app)
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        await profile_of(pilot, helpdesk, "bob")  # no Role: admins only
        assert buttons(app) == ["Deactivate", "Edit name/email", "Reset password"]
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        await profile_of(pilot, helpdesk, "admin")
        assert buttons(app) == []
        assert "Only an admin can manage an admin's" in screen_text(app)
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        await profile_of(pilot, boss, "admin")  # My Account
        assert buttons(app) == ["Edit name/email", "Change password"]


async def test_edit_name_and_email_and_role(database):
    boss = admin()
    add_user(boss, "bob", display_name="Bob")
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        await profile_of(pilot, boss, "bob")
        await press(pilot, "#edit-profile")
        assert isinstance(app.screen, EditProfileModal)
        await type_into(pilot, "#name", "Bob Builder", submit=False)
        await type_into(pilot, "#email", "bob\x1b[2J@example.com")
        await wait_until(pilot, lambda: "control characters" in screen_text(app))
        await type_into(pilot, "#email", "bob@example.com")
        await wait_until(pilot, lambda: isinstance(app.screen, UserEditScreen))
        account = Account.get(Account.username == "bob")
        assert (account.display_name, account.email) == ("Bob Builder", "bob@example.com")
        await wait_until(pilot, lambda: "bob@example.com" in screen_text(app))

        await press(pilot, "#role")
        assert isinstance(app.screen, RoleModal)
        app.screen.query_one("#users-module", Switch).value = True
        await press(pilot, "#save")
        await wait_until(pilot, lambda: isinstance(app.screen, UserEditScreen))
        assert Account.get(Account.username == "bob").users_module


async def test_change_own_password_in_my_account(database):
    boss = admin()
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        await profile_of(pilot, boss, "admin")
        await press(pilot, "#change-password")
        assert isinstance(app.screen, ChangePasswordModal)
        await type_into(pilot, "#current", "wrong password", submit=False)
        await type_into(pilot, "#new", NEW_PASSWORD, submit=False)
        await type_into(pilot, "#again", NEW_PASSWORD)
        await wait_until(pilot, lambda: "current password is wrong" in screen_text(app))
        assert app.screen.query_one("#current", Input).value == ""
        await type_into(pilot, "#current", PASSWORD, submit=False)
        await type_into(pilot, "#new", NEW_PASSWORD, submit=False)
        await type_into(pilot, "#again", NEW_PASSWORD + "x")
        assert DIFFERENT in screen_text(app)
        await type_into(pilot, "#current", PASSWORD, submit=False)
        await type_into(pilot, "#new", NEW_PASSWORD, submit=False)
        await type_into(pilot, "#again", NEW_PASSWORD)
        await wait_until(pilot, lambda: isinstance(app.screen, UserEditScreen))
        await wait_until(pilot, lambda: "Your password is changed." in screen_text(app))
    assert login("admin", NEW_PASSWORD).username == "admin"


async def test_a_reset_login_chooses_a_new_password_before_the_menu(database, fixed_clock):
    boss = admin()
    bob = register(add_user(boss, "bob"), fixed_clock)
    accounts.set_password(shell_actor(), "bob", "temporary words")
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        await log_in_password(pilot, "bob", "temporary words")
        await wait_until(pilot, lambda: isinstance(app.screen, SecurityCodeScreen))
        await type_into(pilot, "#code", code_at(bob.secret, fixed_clock.t))
        await wait_until(pilot, lambda: isinstance(app.screen, ChooseNewPasswordScreen))
        assert app.session is None  # nothing past the login yet
        await type_into(pilot, "#new", NEW_PASSWORD, submit=False)
        await type_into(pilot, "#again", "something else")
        assert DIFFERENT in screen_text(app)
        await type_into(pilot, "#new", "temporary words", submit=False)
        await type_into(pilot, "#again", "temporary words")
        await wait_until(pilot, lambda: "not the one you were given" in screen_text(app))
        await type_into(pilot, "#new", NEW_PASSWORD, submit=False)
        await type_into(pilot, "#again", NEW_PASSWORD)
        await wait_until(pilot, lambda: isinstance(app.screen, MainScreen))
        assert app.session is not None and app.session.username == "bob"
    assert not Account.get(Account.username == "bob").must_change_password


async def test_escape_gives_up_the_reset_login(database):
    boss = admin()
    add_user(boss, "bob")
    accounts.set_password(boss, "bob", "temporary words")
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        await log_in_password(pilot, "bob", "temporary words")
        await wait_until(pilot, lambda: isinstance(app.screen, ChooseNewPasswordScreen))
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, LoginScreen))
        assert app.session is None
    assert Account.get(Account.username == "bob").must_change_password


async def test_own_codes_and_device_ask_for_the_password_after_five_minutes(database, fixed_clock):
    from qmfa_tui.screens.password import ConfirmPasswordModal
    from qmfa_tui.services.session import CONFIRMED_SECONDS

    boss = admin()
    register(boss, fixed_clock)
    bob = register(add_user(boss, "bob"), fixed_clock)
    fixed_clock.advance(CONFIRMED_SECONDS)
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        app.log_in(boss)
        await settle(pilot)
        open_user_edit(app, boss, "bob")  # another user's codes: the privilege order decides
        await wait_until(pilot, lambda: isinstance(app.screen, UserEditScreen))
        await press(pilot, "#show-codes")
        await wait_until(pilot, lambda: bool(app.screen.query("#codes")))
        assert bob.codes[0] in screen_text(app)
        await pilot.press("escape")
        await settle(pilot)

        await pilot.press("a")  # My Account
        await wait_until(pilot, lambda: isinstance(app.screen, UserEditScreen))
        await press(pilot, "#show-codes")
        assert isinstance(app.screen, ConfirmPasswordModal)
        await type_into(pilot, "#password", "not my password")
        await wait_until(pilot, lambda: "That password is wrong" in screen_text(app))
        await type_into(pilot, "#password", PASSWORD)
        await wait_until(pilot, lambda: bool(app.screen.query("#codes")))
        # Confirmed: removing the device now asks only the usual question.
        await pilot.click("#two-factor")
        await wait_until(pilot, lambda: bool(app.screen.query("#remove")))
        await press(pilot, "#remove")
        assert isinstance(app.screen, ConfirmScreen)
