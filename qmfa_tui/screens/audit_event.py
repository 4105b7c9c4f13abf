"""One audit event, every field whole: the log's table cuts Target and Detail at 80 columns."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from qmfa_tui.services.audit import AuditEntry
from qmfa_tui.widgets.key_bar import MODAL_HELP_KEY, KeyBar
from qmfa_tui.widgets.literal import literal


def event_fields(event: AuditEntry) -> list[tuple[str, str]]:
    """(label, value) for each field, as stored; the actor with the SSH address too; a
    guarded login's origin field by field (host, service, address, TTY, key)."""
    kind = "operator command" if event.by_operator else "person"
    return [
        ("When", f"{event.at:%Y-%m-%d %H:%M:%S} UTC"),
        ("Actor", event.actor_label),
        ("Kind", kind),
        ("Action", event.action),
        ("Target", event.target or "-"),
        *origin_fields(event),
        ("Detail", event.detail or "-"),
    ]


def origin_fields(event: AuditEntry) -> list[tuple[str, str]]:
    login = event.guarded_login
    if login is None:
        return [("Origin", event.origin or "-")]
    fields = [
        ("Host", login.host),
        ("Via", login.service),
        ("From", login.remote_host),
        ("TTY", login.tty),
        ("Key", login.key_fingerprint),
    ]
    return [(label, value) for label, value in fields if value]


class AuditEventScreen(ModalScreen[None]):
    """Scrolls with the arrow keys when the event is taller than the terminal."""

    CSS_PATH = "audit_event.tcss"
    HELP = "One audit event, every field whole."
    AUTO_FOCUS = "#dialog"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,enter", "close", "Close"),
        MODAL_HELP_KEY,
    ]

    def __init__(self, event: AuditEntry) -> None:
        super().__init__()
        self.event = event

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="dialog"):
            yield Static("Audit event", classes="title")
            for label, value in event_fields(self.event):
                with Horizontal(classes="field"):
                    yield Static(f"{label}:", classes="label")
                    # literal: a stored string is never read as markup
                    yield Static(literal(value), classes="value")
            yield Button("Close", id="close", compact=True)
        yield KeyBar()

    @on(Button.Pressed, "#close")
    def action_close(self) -> None:
        self.dismiss(None)
