"""Type-ahead: keys typed faster than the screens change land where the person meant them.

Over SSH, from a paste or from a password manager's auto-type, `admin⏎password⏎123456⏎`
reaches the app in one read. Textual forwards each key to whatever has the focus when
the App handles that key, and a field's Enter moves the focus only when its Submitted
message is handled, later: the rest of the burst landed in the Username field, the
password in clear. Two pieces make the order of keys the order of fields:

- ``FormScreen``: Enter and Tab are priority bindings, which the App runs in key order
  before it forwards the next key, and focus moves with ``Screen.set_focus`` (at once;
  ``Widget.focus`` waits for the App's queue). A submit first lets each field handle the
  keys already sent to it (``call_later`` on the field), so it reads all that was typed.
- ``KeyHolder`` (mixed into the App): while a step is being checked (argon2, a database
  round trip) text keys are held; the next form replays them, in order, into its field
  (``release_keys``), and anything else drops them (``drop_keys``), so keys meant for a
  code field never reach a menu's hotkeys or the field of a step that failed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar, TypeVar, cast

from textual import events
from textual.actions import SkipAction
from textual.app import App
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen, Screen
from textual.widget import Widget

from qmfa_tui.widgets.styled_once import StyledOnMount

# Keys that type, edit or move between fields (an OrderedInput's, in the order typed);
# commands (Escape, Ctrl+Q, Up/Down) are never held.
_FIELD_KEYS = frozenset(
    {"enter", "tab", "shift+tab", "backspace", "delete", "left", "right", "home", "end"}
    | {"ctrl+u", "ctrl+w"}
)


def _is_typing(event: events.Event) -> bool:
    if isinstance(event, events.Paste):
        return True
    return isinstance(event, events.Key) and (event.key in _FIELD_KEYS or event.is_printable)


def _copy(event: events.Key | events.Paste) -> events.Key | events.Paste:
    if isinstance(event, events.Paste):
        return events.Paste(event.text)
    return events.Key(event.key, event.character)


class KeyHolder(App[None]):
    """An App that can hold typed keys while a step is checked, then replay or drop them."""

    def __init__(self) -> None:
        super().__init__()
        self._held: list[events.Key | events.Paste] = []
        self._holding = False
        self._replaying = False
        self._replayed: set[int] = set()  # ids of replayed events not yet handled
        self._requeued = 0  # replayed events held again (they go before newer keys)

    def hold_keys(self) -> None:
        """Hold text keys from now on (a step is being checked)."""
        if not self._holding:
            self._holding = True
            self._requeued = 0

    def release_keys(self) -> None:
        """Replay the held keys, in order, to what has the focus now (a form is ready)."""
        if self._holding:
            self._holding = False
            self._replay()

    def drop_keys(self) -> None:
        """Forget the held keys and stop holding (the step failed, or no form comes next)."""
        self._held.clear()
        self._holding = self._replaying = False

    def _replay(self) -> None:
        batch, self._held = self._held, []
        self._replaying = bool(batch)
        for event in batch:
            again = _copy(event)
            self._replayed.add(id(again))
            self.post_message(again)
        if batch:
            # Keys that arrived while these were queued were held; they come next.
            self.call_later(self._replay_done)

    def _replay_done(self) -> None:
        if self._replaying and not self._holding:
            self._replay()

    async def on_event(self, event: events.Event) -> None:
        if _is_typing(event) and not event.is_forwarded:
            replayed = id(event) in self._replayed
            self._replayed.discard(id(event))
            if self._holding and replayed:  # a replayed Enter started a new check
                self._held.insert(self._requeued, cast(events.Key | events.Paste, event))
                self._requeued += 1
                return
            if self._holding or (self._replaying and not replayed):
                self._held.append(cast(events.Key | events.Paste, event))
                return
        await super().on_event(event)


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
        return cast(KeyHolder, self.app)

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
