"""The submit button of the login steps' forms: a focusable Static dressed as Textual's
primary Button, posting Pressed on Enter, Space or a click.

The login form is the first thing qmfa draws. Textual's Button was a large part of
that first drawing (docs/performance.md): its stylesheet of every variant, flat and
ANSI styles, the variant class restyling it as it is built, the press animation. This
one draws the same primary button from a stylesheet of a few rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Static


class FormButton(Static, can_focus=True):
    DEFAULT_CSS = """
    FormButton {
        width: 100%;
        height: 3;
        content-align: center middle;
        text-style: bold;
        color: $button-color-foreground;
        background: $primary;
        border-top: tall $primary-lighten-3;
        border-bottom: tall $primary-darken-3;
        pointer: pointer;
        &:hover {
            background: $primary-darken-2;
            border-top: tall $primary;
        }
        &:focus {
            text-style: $button-focus-text-style;
            background-tint: $foreground 5%;
        }
        &:disabled {
            text-opacity: 0.6;
            pointer: not-allowed;
        }
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter,space", "press", "Press", show=False),
    ]

    @dataclass
    class Pressed(Message):
        button: FormButton

        @property
        def control(self) -> FormButton:
            return self.button

    def __init__(self, label: str, *, id: str | None = None) -> None:
        super().__init__(label, id=id, markup=False)
        self._label = label

    @property
    def label(self) -> str:
        return self._label

    @label.setter
    def label(self, label: str) -> None:
        self._label = label
        self.update(label)

    def on_click(self) -> None:
        self.action_press()

    def action_press(self) -> None:
        if not self.disabled:
            self.post_message(self.Pressed(self))
