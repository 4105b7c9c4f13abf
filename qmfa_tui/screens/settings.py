"""Customization > General Settings & Audit.

The instance's settings and the Two-step authentication section (Mandatory
Two-step Authentication, grace period); in its own tab, the audit log (audit_log.py's
pane), paged by this screen's keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.screen import Screen
from textual.widgets import (
    Button,
    ContentSwitcher,
    Input,
    Static,
    Switch,
)

from qmfa_tui.screens.audit_log import AuditLog
from qmfa_tui.screens.service_call import ServiceFailed, call_service
from qmfa_tui.services import accounts, policy
from qmfa_tui.services.audit import AuditEntry
from qmfa_tui.services.policy import InstanceInfo, MandatoryRefusal, Refusal
from qmfa_tui.services.session import Actor
from qmfa_tui.textual_compat import StyledOnMount
from qmfa_tui.widgets.action_link import ActionLink
from qmfa_tui.widgets.key_bar import ButtonKeys, KeyBar
from qmfa_tui.widgets.literal import literal
from qmfa_tui.widgets.ordered_input import OrderedInput
from qmfa_tui.widgets.qmfa_app import qmfa_app
from qmfa_tui.widgets.status_line import StatusLine
from qmfa_tui.widgets.tab_strip import TabStrip
from qmfa_tui.widgets.title_bar import TitleBar

# The audit tab's keys (n, p, r): offered on that tab only.
AUDIT_TAB_ACTIONS = frozenset({"next_events", "previous_events", "refresh"})


class SettingsScreen(StyledOnMount, ButtonKeys, Screen[None]):
    CSS_PATH = "settings.tcss"
    HELP = (
        "General Settings & Audit: make two-step verification mandatory, set the grace "
        "period, and read the audit log (its tab: filter by user, action and date)."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        # Shown on the General tab only (its button's), before the audit's keys.
        Binding("s", "press_button('save-grace')", "Save grace period"),
        Binding("n", "next_events", "Older events"),
        Binding("p", "previous_events", "Newer events"),
        Binding("r", "refresh", "Refresh"),
    ]

    @dataclass
    class Loaded(Message):
        instance: InstanceInfo
        refusal: Refusal | None

    @dataclass
    class Changed(Message):
        notice: str

    def __init__(self, actor: Actor) -> None:
        super().__init__()
        self.actor = actor
        self.instance: InstanceInfo | None = None
        self.tab = "general"

    @property
    def audit_log(self) -> AuditLog:
        return self.query_one(AuditLog)

    @property
    def audit_offset(self) -> int:
        """Where the audit log's page starts (0: the newest events)."""
        return self.audit_log.audit_offset

    @property
    def events(self) -> list[AuditEntry]:
        """The audit log's page, row by row."""
        return self.audit_log.events

    def compose(self) -> ComposeResult:
        yield TitleBar()
        yield Static("General Settings & Audit", id="title")
        yield TabStrip(
            [("general", "General Settings"), ("audit", "Audit log")], active="general", id="tabs"
        )
        with ContentSwitcher(initial="general"):
            with VerticalScroll(id="general", can_focus=False):
                yield Static("Instance", classes="section")
                yield Static("Loading…", id="instance")
                yield Static("Two-step authentication", classes="section")
                with Horizontal(classes="row"):
                    yield Static("Mandatory Two-step Authentication", classes="label")
                    yield Switch(id="mandatory", disabled=True)
                    yield Static("", id="mandatory-state")
                yield Static("", id="refusal")
                yield ActionLink("My Account > Security", id="my-account")
                with Horizontal(classes="row"):
                    yield Static("Grace period (hours)", classes="label")
                    yield OrderedInput(id="grace", restrict=r"[0-9]*", max_length=4, compact=True)
                    yield Button("Save", id="save-grace", compact=True)
                yield StatusLine(id="status")
            yield AuditLog(self.actor, id="audit")
        yield KeyBar()

    @on(TabStrip.Changed, "#tabs")
    def switch_tab(self, event: TabStrip.Changed) -> None:
        self.query_one(ContentSwitcher).current = self.tab = event.tab_id
        self.refresh_bindings()  # the audit tab's keys come and go with it
        if event.tab_id == "audit":
            self.audit_log.load_events(self.audit_offset)  # what happened since last shown

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in AUDIT_TAB_ACTIONS and self.tab != "audit":
            return False
        return super().check_action(action, parameters)

    def action_refresh(self) -> None:
        """The settings and the audit log's page read again (r)."""
        self.load()
        self.audit_log.load_events(self.audit_offset)

    def on_mount(self) -> None:
        self.query_one("#my-account").display = False
        self.load()
        self.audit_log.load_events(0)

    @work(thread=True, exclusive=True, group="settings")
    def load(self) -> None:
        def read() -> tuple[InstanceInfo, Refusal | None]:
            return policy.instance_info(), policy.mandatory_refusal(self.actor)

        call_service(self, read, lambda answers: self.Loaded(*answers))

    def on_settings_screen_loaded(self, message: Loaded) -> None:
        instance = self.instance = message.instance
        demo = "  (a demo database)" if instance.demo else ""
        self.query_one("#instance", Static).update(
            Content.assemble(
                "Name: ",
                literal(instance.instance_name),
                "   Deployment: ",
                literal(instance.deployment),
                f" (set by the operator){demo}",
            )
        )
        switch = self.query_one("#mandatory", Switch)
        with self.prevent(Switch.Changed):
            switch.value = instance.mandatory
        refusal = message.refusal
        switch.disabled = refusal is not None
        self.query_one("#mandatory-state", Static).update("On" if instance.mandatory else "Off")
        self.query_one("#refusal", Static).update(literal(refusal.message if refusal else ""))
        self.query_one("#refusal").display = refusal is not None
        own_2fa_missing = refusal is not None and refusal.reason is MandatoryRefusal.OWN_2FA_FIRST
        self.query_one("#my-account").display = own_2fa_missing
        grace = self.query_one("#grace", Input)
        grace.value = str(instance.grace_period_hours)
        grace.disabled = refusal is not None
        self.query_one("#save-grace").disabled = refusal is not None

    @on(Switch.Changed, "#mandatory")
    def toggled(self, event: Switch.Changed) -> None:
        if self.instance is None:
            return
        with self.prevent(Switch.Changed):
            event.switch.value = self.instance.mandatory  # nothing changes before confirming
        ask = self.ask_to_switch_off if self.instance.mandatory else self.ask_to_switch_on
        if accounts.password_confirmed(self.actor):
            ask()
            return
        from qmfa_tui.screens.password import ConfirmPasswordModal

        def confirmed(done: bool | None) -> None:
            if done:
                ask()

        # Sudo mode (policy.set_mandatory refuses without it): the password again first.
        state = "off" if self.instance.mandatory else "on"
        what = f"turn mandatory two-step verification {state}"
        self.app.push_screen(ConfirmPasswordModal(self.actor, what), confirmed)

    def ask_to_switch_on(self) -> None:
        from qmfa_tui.screens.mandatory import MandatoryModal

        assert self.instance is not None

        def answered(confirmed: bool | None) -> None:
            if confirmed:
                self.set_mandatory(True)

        self.app.push_screen(MandatoryModal(self.actor, self.instance.grace_period_hours), answered)

    def ask_to_switch_off(self) -> None:
        from qmfa_tui.screens.confirm import ConfirmScreen

        def answered(confirmed: bool | None) -> None:
            if confirmed:
                self.set_mandatory(False)

        self.app.push_screen(
            ConfirmScreen(
                "Turn off Mandatory Two-step Authentication?",
                "Users without a device will log in with their password alone again. "
                "Users who set up two-step verification keep it.",
                confirm_label="Turn off",
            ),
            answered,
        )

    @work(thread=True, exclusive=True, group="change")
    def set_mandatory(self, enabled: bool) -> None:
        state = "on" if enabled else "off"
        call_service(
            self,
            partial(policy.set_mandatory, self.actor, enabled),
            lambda _: self.Changed(f"Mandatory Two-step Authentication is {state}."),
        )

    @on(Input.Submitted, "#grace")
    @on(Button.Pressed, "#save-grace")
    def save_grace(self) -> None:
        text = self.query_one("#grace", Input).value.strip()
        if not text:
            self.query_one(StatusLine).show_error("Enter a number of hours (0 for none).")
            return
        self.set_grace(int(text))

    @work(thread=True, exclusive=True, group="change")
    def set_grace(self, hours: int) -> None:
        def change() -> int:  # the hours before
            previous = policy.instance_info().grace_period_hours
            policy.set_grace_period(self.actor, hours)
            return previous

        call_service(
            self, change, lambda previous: self.Changed(policy.grace_change_notice(previous, hours))
        )

    def on_settings_screen_changed(self, message: Changed) -> None:
        self.query_one(StatusLine).show_info(message.notice, success=True)
        self.notify(message.notice)
        self.load()
        self.audit_log.load_events(0)

    def on_service_failed(self, failed: ServiceFailed) -> None:
        # The General tab's; the audit log says its own (a filter refused) on its tab.
        self.query_one("#status", StatusLine).show_error(failed.error)

    @on(ActionLink.Followed, "#my-account")
    def open_my_account(self) -> None:
        qmfa_app(self).action_my_account()

    def action_next_events(self) -> None:
        self.audit_log.next_events()

    def action_previous_events(self) -> None:
        self.audit_log.previous_events()

    def on_screen_resume(self) -> None:
        self.load()

    def action_back(self) -> None:
        self.dismiss()
