"""Where a completed login lands: the menu of the product being modelled."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.screen import Screen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from qmfa_tui.screens.service_call import ServiceFailed, call_service
from qmfa_tui.services import accounts, recovery
from qmfa_tui.services.accounts import UserInfo
from qmfa_tui.services.session import Actor
from qmfa_tui.textual_compat import StyledOnMount
from qmfa_tui.widgets.key_bar import KeyBar
from qmfa_tui.widgets.literal import literal
from qmfa_tui.widgets.qmfa_app import qmfa_app
from qmfa_tui.widgets.title_bar import TitleBar


def menu_options(may_manage_users: bool, is_admin: bool) -> list[Option]:
    options = [Option("Customization > Users", id="users")] if may_manage_users else []
    if is_admin:
        options.append(Option("Customization > General Settings & Audit", id="settings"))
    return [*options, Option("My Account", id="my_account"), Option("Log out", id="log_out")]


class MainScreen(StyledOnMount, Screen[None]):
    CSS_PATH = "main.tcss"
    AUTO_FOCUS = "#menu"
    HELP = (
        "The main menu: choose an entry with the arrows and Enter, or press its key. "
        "What you may open follows your role."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("u", "users", "Users"),
        Binding("g", "settings", "Settings"),
        Binding("a", "my_account", "My Account"),
        Binding("ctrl+l", "log_out", "Log out"),
    ]

    @dataclass
    class Loaded(Message):
        user: UserInfo

    def __init__(self, actor: Actor) -> None:
        super().__init__()
        self.actor = actor

    def compose(self) -> ComposeResult:
        yield TitleBar()
        with Vertical(id="main"):
            yield Static(
                Content.assemble("Logged in as ", literal(self.actor.username)), id="welcome"
            )
            yield Static("", id="summary")
            yield OptionList(*menu_options(may_manage_users=False, is_admin=False), id="menu")
        yield KeyBar()

    def on_screen_resume(self) -> None:
        self.load()

    @work(thread=True, exclusive=True)
    def load(self) -> None:
        call_service(self, partial(accounts.get_user, self.actor, self.actor.username), self.Loaded)

    def on_service_failed(self, failed: ServiceFailed) -> None:
        self.notify(failed.message, severity="error")

    def on_main_screen_loaded(self, message: Loaded) -> None:
        user = message.user
        app = qmfa_app(self)
        if app.remember_user(user):  # what they may open changed: the menu follows
            menu = self.query_one("#menu", OptionList)
            menu.clear_options()
            menu.add_options(menu_options(app.may_manage_users, app.is_admin))
            menu.highlighted = 0
            self.refresh_bindings()
        if user.registration_required:
            deadline = user.registration_deadline
            text = "Two-step verification is required here: set it up in My Account" + (
                f" before {deadline:%Y-%m-%d %H:%M} UTC." if deadline else "."
            )
        elif user.two_factor:
            left = user.recovery_codes_left or 0
            text = (
                f"Two-step verification is on; {left} of {recovery.CODE_COUNT} recovery codes left."
            )
        elif user.managed_elsewhere:
            text = f"You sign in through {user.auth_source.label}."
        else:
            text = "Two-step verification is off: turn it on in My Account."
        self.query_one("#summary", Static).update(literal(text))

    @on(OptionList.OptionSelected, "#menu")
    async def choose(self, event: OptionList.OptionSelected) -> None:
        # Through run_action, so check_action gates Enter and a click as it gates the hotkeys.
        await self.run_action(event.option.id or "")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "users":
            return qmfa_app(self).may_manage_users
        if action == "settings":
            return qmfa_app(self).is_admin
        return True

    def action_settings(self) -> None:
        qmfa_app(self).action_settings()

    def action_users(self) -> None:
        qmfa_app(self).action_users()

    def action_my_account(self) -> None:
        qmfa_app(self).action_my_account()

    def action_log_out(self) -> None:
        qmfa_app(self).log_out()
