"""A focusable piece of link-styled text that posts a message when clicked or on Enter."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Static


class ActionLink(Static, can_focus=True):
    DEFAULT_CSS = """
    ActionLink {
        width: auto;
        height: 1;
        color: $text-accent;
        text-style: underline;
        &:hover { color: $accent; }
        &:focus { text-style: bold reverse underline; }
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "follow", "Follow link")]

    class Followed(Message):
        def __init__(self, link: ActionLink) -> None:
            super().__init__()
            self.link = link

        @property
        def control(self) -> ActionLink:
            return self.link

    def on_click(self) -> None:
        self.action_follow()

    def action_follow(self) -> None:
        self.post_message(self.Followed(self))
