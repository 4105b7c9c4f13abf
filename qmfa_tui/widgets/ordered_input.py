"""A text field whose keys apply in the order they were typed, however they are batched.

Textual's Input inserts a printable key in its own ``_on_key``, but its editing keys
(Backspace, Delete, arrows, Home/End, Ctrl+U/W, Enter) are bindings, run only once the key
has bubbled up to the App: keys that arrived after them in the same read (over SSH, a
paste, a fast typist) are already in the field by then, so `qmfa-demx`, Backspace, `o`
became `qmfa-demo` only by luck, usually `qmfa-demxo` less one letter somewhere
(Textualize/textual#6605; the open PR #6631 makes the same change upstream).

``OrderedInput`` runs its own (non-priority) bindings as each key arrives, as the App
would have (``textual_compat.KeysInOrderInput``), so each key acts when its turn comes.
Tab and Shift+Tab are priority bindings: the App moves the focus before it forwards the
next key, so the keys after a Tab reach the next field. Every text field of qmfa is one;
a field without a ``max_length`` takes at most ``MAX_FIELD_LENGTH`` characters.
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual.binding import Binding, BindingType

from qmfa_tui.textual_compat import KeysInOrderInput

# No field of qmfa takes more (a path: PATH_MAX; a password 1024, a name 200): a megabyte
# of unbracketed keys builds no megabyte string one key at a time.
MAX_FIELD_LENGTH = 4096


class OrderedInput(KeysInOrderInput):
    """An Input whose editing keys apply in their place among the keys typed."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("tab", "app.focus_next", "Next field", show=False, priority=True),
        Binding("shift+tab", "app.focus_previous", "Previous field", show=False, priority=True),
    ]

    def __init__(self, *args: Any, max_length: int = 0, **kwargs: Any) -> None:
        bounded = min(max_length or MAX_FIELD_LENGTH, MAX_FIELD_LENGTH)
        super().__init__(*args, max_length=bounded, **kwargs)
