"""Resync: two consecutive codes from the app teach the server the app's clock drift."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Button, Input, Static

from qmfa_tui.screens.base import FormModal
from qmfa_tui.screens.service_call import ServiceFailed, call_service
from qmfa_tui.services import twofactor
from qmfa_tui.services.session import Actor
from qmfa_tui.services.twofactor import ResyncResult
from qmfa_tui.widgets.key_bar import MODAL_HELP_KEY, KeyBar
from qmfa_tui.widgets.ordered_input import OrderedInput
from qmfa_tui.widgets.status_line import StatusLine


class ResyncScreen(FormModal[ResyncResult | None]):
    CSS_PATH = "resync.tcss"
    HELP = (
        "Resync: type two codes in a row from your authenticator app, so the server "
        "learns its clock."
    )
    AUTO_FOCUS = "#first"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel"), MODAL_HELP_KEY]

    @dataclass
    class Learned(Message):
        result: ResyncResult

    def __init__(self, actor: Actor) -> None:
        super().__init__()
        self.actor = actor

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static("Resync your authenticator", classes="title")
            yield Static(
                "Type the code your app shows now, wait for it to change, then type the next one.",
                id="body",
            )
            yield OrderedInput(id="first", placeholder="first code", max_length=16)
            yield OrderedInput(id="second", placeholder="next code", max_length=16)
            yield StatusLine(id="status")
            with Horizontal(id="buttons"):
                yield Button("Resync", id="resync", variant="primary")
                yield Button("Cancel", id="cancel")
        yield KeyBar()  # a modal screen's keys, instead of the screen's behind it

    def advance(self, focused: Widget | None) -> bool:
        first, second = self.query_one("#first"), self.query_one("#second")
        if focused is first:
            self.move_to(second)
        elif focused is second or focused is self.query_one("#resync"):
            self.submit_after_typing(self.submit, first, second)
        else:
            return False
        return True

    @on(Button.Pressed, "#resync")
    def submit(self) -> None:
        first = self.query_one("#first", Input).value
        second = self.query_one("#second", Input).value
        if not first.strip() or not second.strip():
            self.keys.drop_keys()
            self.query_one(StatusLine).show_error("Enter two codes, one after the other.")
            return
        self.keys.hold_keys()  # typed during the search: not for the screen behind
        self.query_one("#resync", Button).disabled = True
        self.query_one(StatusLine).show_info("Searching ±24 hours for those two codes…")
        self.resync(first, second)

    @work(thread=True, exclusive=True)
    def resync(self, first: str, second: str) -> None:
        call_service(self, partial(twofactor.resync, self.actor, first, second), self.Learned)

    def on_resync_screen_learned(self, message: Learned) -> None:
        self.keys.drop_keys()
        self.dismiss(message.result)

    def on_service_failed(self, failed: ServiceFailed) -> None:
        self.keys.drop_keys()
        self.query_one("#resync", Button).disabled = False
        for field in self.query(Input):
            field.value = ""
        self.move_to(self.query_one("#first"))
        self.query_one(StatusLine).show_error(failed.error)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
