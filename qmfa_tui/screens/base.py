"""The bases of qmfa's screens: forms whose Enter and Tab follow the order keys were
typed in, and (from textual_compat) ``StyledOnMount`` for screens that are not modals.

Textual forwards each key to whatever has the focus when the App handles that key, and
a field's Enter moves the focus only when its Submitted message is handled, later: the
rest of a burst (`admin⏎password⏎123456⏎` in one read, over SSH or from a password
manager) landed in the Username field, the password in clear. In a ``FormScreen`` or
``FormModal`` Enter and Tab are priority bindings, which the App runs in key order
before it forwards the next key, and focus moves with ``Screen.set_focus`` (at once;
``Widget.focus`` waits for the App's queue). A submit first lets each field handle the
keys already sent to it (``call_later`` on the field), so it reads all that was typed;
the App holds later keys meanwhile (``keys.KeyHolder``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar, TypeVar, cast

from textual.actions import SkipAction
from textual.app import App
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen, Screen
from textual.widget import Widget

from qmfa_tui.textual_compat import StyledOnMount

if TYPE_CHECKING:
    from qmfa_tui.keys import KeyHolder

__all__ = ["FormModal", "FormScreen", "StyledOnMount"]

ScreenResult = TypeVar("ScreenResult")

# Textual merges BINDINGS only from its own node classes, so each form class lists them.
_FORM_BINDINGS: list[BindingType] = [
    Binding("enter", "advance", "Submit", show=False, priority=True),
    Binding("tab", "app.focus_next", "Next field", show=False, priority=True),
    Binding("shift+tab", "app.focus_previous", "Previous field", show=False, priority=True),
]


class _FormKeys:
    """Enter and Tab of a form, in the order keys were typed (for a Screen or a ModalScreen)."""

    if TYPE_CHECKING:
        app: App[None]
        focused: Widget | None

        def set_focus(
            self, widget: Widget | None, scroll_visible: bool = True, from_app_focus: bool = False
        ) -> None: ...

    @property
    def keys(self) -> KeyHolder:
        return cast("KeyHolder", self.app)

    def advance(self, focused: Widget | None) -> bool:
        """Enter on ``focused``: act and return True, or False to let the key through."""
        return False

    def action_advance(self) -> None:
        if not self.advance(self.focused):
            raise SkipAction()

    def move_to(self, field: Widget) -> None:
        """Focus ``field`` now, so the next key typed reaches it."""
        self.set_focus(field)

    def submit_after_typing(self, callback: Callable[[], object], *fields: Widget) -> None:
        """Hold later keys, then run ``callback`` once each field has handled the keys
        already sent to it."""
        self.keys.hold_keys()

        def after(remaining: tuple[Widget, ...]) -> None:
            if remaining:
                remaining[0].call_later(after, remaining[1:])
            else:
                callback()

        after(fields)

    def receive_typed_ahead(self, field: Widget) -> None:
        """This form is ready: keys typed ahead of it go into ``field``."""
        self.set_focus(field)
        self.keys.release_keys()


class FormScreen(StyledOnMount, _FormKeys, Screen[ScreenResult]):
    """A screen of fields whose Enter and Tab follow the order keys were typed in."""

    BINDINGS: ClassVar[list[BindingType]] = _FORM_BINDINGS


class FormModal(_FormKeys, ModalScreen[ScreenResult]):
    """A modal of fields whose Enter and Tab follow the order keys were typed in."""

    BINDINGS: ClassVar[list[BindingType]] = _FORM_BINDINGS
