"""The help of the screen on top (? or F1, and the palette's Keys): what the screen is for
(its class's ``HELP``, Textual's attribute for a widget's help) and its keys, one line per
action, read from the screen's active bindings when it opens, so it never drifts from
the keys that work. Esc, ? or F1 closes it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.dom import DOMNode
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from qmfa_tui.textual_compat import app_bindings
from qmfa_tui.widgets.key_bar import KeyBar

NO_PURPOSE = "Its keys are below."
# Textual's words for the keys every screen has, in ours.
PLAIN_WORDS = {
    "Focus Next": "Next field or button",
    "Focus Previous": "Previous field or button",
    "Copy selected text": "Copy the text selected with the mouse",
    "palette": "Command palette: every screen by name",
}
KEY_WIDTH = 14  # the key column, at most: a longer key list wraps under its description


@dataclass(frozen=True)
class KeyHelp:
    keys: tuple[str, ...]  # as the key bar shows them: "esc", "^q", "?"
    description: str
    enabled: bool  # False: not available at the moment (the key bar dims it)


def keys_of(screen: Screen[object]) -> list[KeyHelp]:
    """The keys that work on ``screen`` now, one entry per action, in the key bar's order:
    the screen's own (shown or not), its focused widget's that the key bar shows, and the
    app's. Keys that Textual's own widgets handle (a text field's arrows) are left out."""
    app = screen.app
    found: list[tuple[DOMNode, Binding, bool]] = [
        (active.node, active.binding, active.enabled) for active in screen.active_bindings.values()
    ]
    if screen.is_modal:  # over a modal, the app's priority keys (^q, F1, ^p) still work
        found += [(app, binding, True) for binding in app_bindings(app) if binding.priority]
    by_action: dict[str, tuple[list[str], str, bool]] = {}
    for node, binding, enabled in found:
        if binding.system or not (node is screen or isinstance(node, App) or binding.show):
            continue
        if binding.key.startswith("super+"):  # no terminal sends it
            continue
        key = app.get_key_display(binding)
        description = binding.description or binding.action
        action = binding.action.removeprefix("app.")  # a modal's `?` runs the app's help
        keys, description, was_enabled = by_action.setdefault(
            action, ([], PLAIN_WORDS.get(description, description), enabled)
        )
        if key not in keys:
            keys.append(key)
        by_action[action] = (keys, description, was_enabled or enabled)
    return [
        KeyHelp(tuple(keys), description, enabled)
        for keys, description, enabled in by_action.values()
    ]


def purpose_of(screen: Screen[object]) -> str:
    return getattr(screen, "HELP", None) or NO_PURPOSE


def key_lines(keys: list[KeyHelp]) -> Content:
    """One line per action: its keys, then what it does (dimmed when not available now)."""
    width = min(max((len(" or ".join(key.keys)) for key in keys), default=0), KEY_WIDTH)
    lines = []
    for key in keys:
        shown = " or ".join(key.keys)
        gap = "\n" + " " * (width + 2) if len(shown) > width else " " * (width + 2 - len(shown))
        description = key.description + ("" if key.enabled else " (not available now)")
        lines.append(
            Content.assemble(
                (shown, "bold $accent"), gap, (description, "" if key.enabled else "dim")
            )
        )
    return Content("\n").join(lines)


class HelpScreen(ModalScreen[None]):
    CSS_PATH = "help.tcss"
    AUTO_FOCUS = "#dialog"
    HELP = "What the screen behind is for, and its keys."
    KEY_BAR_OFFERS_HELP = False  # F1 closes this one
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close"),
        Binding("question_mark", "close", "Close", key_display="?", show=False),
    ]

    def __init__(self, purpose: str, keys: list[KeyHelp]) -> None:
        super().__init__()
        self.purpose = purpose
        self.keys = keys

    @classmethod
    def of(cls, screen: Screen[object]) -> HelpScreen:
        return cls(purpose_of(screen), keys_of(screen))

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="dialog"):
            yield Static("Help (Esc, ? or F1 closes it)", classes="title", markup=False)
            yield Static(self.purpose, id="purpose", markup=False)
            yield Static("Keys", classes="section")
            yield Static(key_lines(self.keys), id="keys")
        yield KeyBar()

    def action_close(self) -> None:
        self.dismiss(None)
