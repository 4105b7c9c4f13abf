"""One line under a form for what went wrong, with a live countdown when throttled.

Its messages carry usernames, file paths and errors: a str is shown as literal text.
"""

from __future__ import annotations

from textual.content import Content
from textual.timer import Timer
from textual.widgets import Static

from qmfa_tui.errors import QmfaError, Throttled, wait_message
from qmfa_tui.widgets.literal import literal


class StatusLine(Static):
    DEFAULT_CSS = """
    StatusLine {
        height: auto;
        min-height: 1;
        color: $text-muted;
        &.-error { color: $text-error; }
        &.-success { color: $text-success; }
    }
    """

    _countdown: Timer | None = None
    _seconds_left = 0

    def show_error(self, error: QmfaError | str | Content) -> None:
        """Show an error; a Throttled error counts its seconds down to zero."""
        self._stop_countdown()
        self.set_class(True, "-error")
        self.remove_class("-success")
        if isinstance(error, Throttled) and error.retry_after > 0:
            self._seconds_left = error.retry_after
            self._show_wait()
            self._countdown = self.set_interval(1, self._tick)
        else:
            self._show(error.message if isinstance(error, QmfaError) else error)

    def show_info(self, text: str | Content, *, success: bool = False) -> None:
        self._stop_countdown()
        self.remove_class("-error")
        self.set_class(success, "-success")
        self._show(text)

    def _show(self, text: str | Content) -> None:
        """A str as literal text (one line: a newline in it shows as \\n); Content as it is."""
        self.update(literal(text) if isinstance(text, str) else text)

    def clear(self) -> None:
        self.show_info("")

    def _show_wait(self) -> None:
        self._show(wait_message(self._seconds_left))

    def _tick(self) -> None:
        self._seconds_left -= 1
        if self._seconds_left > 0:
            self._show_wait()
        else:
            self.show_info("You can try again now.")

    def _stop_countdown(self) -> None:
        if self._countdown is not None:
            self._countdown.stop()
            self._countdown = None
