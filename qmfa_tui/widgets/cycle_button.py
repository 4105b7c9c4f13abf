"""A one-line filter control: "2FA: Enabled"; Enter or a click moves to the next value.

Lighter than a Select (a Select is an overlay and an option list; three of them
cost a screen ~60 ms to open), and as quick with the keyboard for 3 or 4 values.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message
from textual.widgets import Button


class CycleButton(Button):
    DEFAULT_CSS = """
    CycleButton {
        width: auto;
        min-width: 12;
    }
    """

    @dataclass
    class Changed(Message):
        cycle: CycleButton
        value: str

        @property
        def control(self) -> CycleButton:
            return self.cycle

    def __init__(self, name: str, options: list[tuple[str, str]], value: str, *,
                 id: str | None = None) -> None:
        self.title = name
        self.options = options
        self._value = value
        super().__init__(self._label(), compact=True, id=id)
        # A Button ignores presses for 0.2 s after one; each press here must count.
        self.active_effect_duration = 0

    def _label(self) -> str:
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
            self.label = self._label()
            self.refresh(layout=True)  # Button's label does not re-measure an auto width
            self.post_message(self.Changed(self, value))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        values = [value for _, value in self.options]
        self.value = values[(values.index(self._value) + 1) % len(values)]
