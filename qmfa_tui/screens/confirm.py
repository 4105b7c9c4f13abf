"""A yes/no question in a modal, dismissed with the answer."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button, Static
from textual.widgets.button import ButtonVariant

from qmfa_tui.widgets.key_bar import MODAL_HELP_KEY, KeyBar
from qmfa_tui.widgets.literal import literal


class AnsweredModal(ModalScreen[bool]):
    """A modal answered by its buttons: Confirm dismisses it with True, Cancel with False.

    Its subclasses give the rest of the dialog, the bindings (Escape for Cancel) and the
    styles of their #buttons row.
    """

    def compose_buttons(
        self, confirm_label: str, *, variant: ButtonVariant, between: Iterable[Widget] = ()
    ) -> ComposeResult:
        """The #buttons row: Confirm, any buttons `between`, then Cancel."""
        with Horizontal(id="buttons"):
            yield Button(confirm_label, id="confirm", variant=variant)
            yield from between
            yield Button("Cancel", id="cancel")

    @on(Button.Pressed, "#confirm")
    def confirm(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(False)


class ConfirmScreen(AnsweredModal):
    """`title` and `body` as a str are literal text on one line; Content (made with
    widgets.literal for any person's string in it) for a body of several lines."""

    CSS_PATH = "confirm.tcss"
    HELP = "A question before a change: Cancel (or Esc) leaves everything as it was."
    AUTO_FOCUS = "#cancel"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel"), MODAL_HELP_KEY]

    def __init__(
        self,
        title: str | Content,
        body: str | Content,
        *,
        confirm_label: str = "Confirm",
        dangerous: bool = False,
    ) -> None:
        super().__init__()
        self.title_text = literal(title) if isinstance(title, str) else title
        self.body = literal(body) if isinstance(body, str) else body
        self.confirm_label = confirm_label
        self.dangerous = dangerous

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(self.title_text, classes="title")
            yield Static(self.body, id="body")
            yield from self.compose_buttons(
                self.confirm_label, variant="error" if self.dangerous else "primary"
            )
        yield KeyBar()  # a modal screen's keys, instead of the screen's behind it
