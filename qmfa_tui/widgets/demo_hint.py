"""The demo's line at the foot of a login step: who to log in as, and how to get the code."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static


class DemoHint(Static):
    """Hidden until there is a hint to show (a demo database): literal text, it holds a URL."""

    DEFAULT_CSS = """
    DemoHint {
        dock: bottom;
        width: 100%;
        height: auto;
        margin-bottom: 1;  /* docks overlap: this keeps the key bar's row */
        padding: 0 1;
        color: $text-accent;
    }
    """

    def __init__(self, hint: str | None = None) -> None:
        super().__init__(Content(hint or ""), id="demo-hint")
        self.display = bool(hint)

    def show(self, hint: str) -> None:
        self.update(Content(hint))
        self.display = True


CODES_COMMAND = " demo codes "  # in the hint: `qmfa [--database URL] demo codes admin`
RECOVERY_CODES_COMMAND = " users recovery-codes "


def recovery_hint(hint: str) -> str:
    """The demo's line for the recovery-code step: the operator command that lists the
    demo login's unused recovery codes, where the hint names the one printing its
    security code (the words "security code" stay out: they name the other step)."""
    before, found, after = hint.rpartition(CODES_COMMAND)
    if not found:
        return hint
    lead, code_label, command = before.rpartition(" Code: ")
    if not code_label:
        return hint
    return f"{lead} Recovery codes: {command}{RECOVERY_CODES_COMMAND}{after}"
