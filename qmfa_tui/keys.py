"""Type-ahead, the App's half: keys typed faster than the screens change are held while a
step is checked, then replayed into the next form or dropped.

Over SSH, from a paste or from a password manager's auto-type, `admin⏎password⏎123456⏎`
reaches the app in one read. ``KeyHolder`` (the App's base): while a step is being
checked (argon2, a database round trip) text keys are held; the next form replays them,
in order, into its field (``release_keys``), and anything else drops them
(``drop_keys``), so keys meant for a code field never reach a menu's hotkeys or the
field of a step that failed. The forms' half (Enter and Tab in the order typed) is
``screens/base.py``.
"""

from __future__ import annotations

from typing import cast

from textual import events
from textual.app import App

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
