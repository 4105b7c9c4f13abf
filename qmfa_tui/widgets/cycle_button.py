"""A one-line filter control: "2FA: Enabled"; Enter, Space or a click moves to the next value.

Lighter than a Select (a Select is an overlay and an option list; three of them
made a screen slow to open), and as quick with the keyboard for 3 or 4 values.
It is a focusable Static dressed as a compact button: three Textual Buttons made
the Users screen slower to open than three Statics (a Button restyles
itself as it is built and keeps press animations these controls do not need).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Static


class CycleButton(Static, can_focus=True):
    DEFAULT_CSS = """
    CycleButton {
        width: auto;
        min-width: 12;
        height: 1;
        padding: 0 1;
        text-align: center;
        text-style: bold;
        color: $button-foreground;
        background: $surface;
        pointer: pointer;
        &:hover { background: $surface-darken-1; }
        &:focus {
            text-style: $button-focus-text-style;
            background-tint: $foreground 5%;
        }
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter,space", "next", "Next value", show=False),
    ]

    @dataclass
    class Changed(Message):
        cycle: CycleButton
        value: str

        @property
        def control(self) -> CycleButton:
            return self.cycle

    def __init__(
        self, name: str, options: list[tuple[str, str]], value: str, *, id: str | None = None
    ) -> None:
        self.title = name
        self.options = options
        self._value = value
        super().__init__(self.label, id=id, markup=False)

    @property
    def label(self) -> str:
        shown = next(label for label, value in self.options if value == self._value)
        return f"{self.title}: {shown} ▸"

    @property
    def value(self) -> str:
        return self._value

    @value.setter
    def value(self, value: str) -> None:
        if value not in (v for _, v in self.options):
            raise ValueError(f"{value!r} is not one of this control's values")
        if value != self._value:
            self._value = value
            self.update(self.label)  # re-measures the auto width
            self.post_message(self.Changed(self, value))

    def action_next(self) -> None:
        values = [value for _, value in self.options]
        self.value = values[(values.index(self._value) + 1) % len(values)]

    def on_click(self) -> None:
        self.action_next()
