"""One way for a screen to call a service: from its thread worker, one message for a refusal.

A screen's ``@work(thread=True)`` method hands the blocking part to ``call_service``:
``call`` (which calls services) runs in the worker's thread; the message ``deliver``
makes of what it returned is posted to the screen, whose handler runs on the UI thread
in the screen's message order. A QmfaError from ``call`` (a refusal, or the database
failing, in words for the person) posts one ``ServiceFailed`` to the screen instead,
which its ``on_service_failed`` shows where that screen shows refusals. ``name`` tells
a screen's calls apart when their refusals show in different places.

The worker itself stays on the screen, with the ``exclusive`` and ``group`` that say
which calls replace which.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from textual.message import Message
from textual.message_pump import MessagePump

from qmfa_tui.errors import QmfaError

Result = TypeVar("Result")


@dataclass
class ServiceFailed(Message, bubble=False):
    """A service call refused; for the screen that made it (it does not bubble)."""

    error: QmfaError
    name: str = ""  # the `name` given to call_service

    @property
    def message(self) -> str:
        """The refusal in words for the person (literal text: it may hold their input)."""
        return self.error.message


def call_service(
    host: MessagePump,
    call: Callable[[], Result],
    deliver: Callable[[Result], Message | None],
    *,
    name: str = "",
) -> None:
    """Run in a thread worker of ``host``: post ``deliver(call())`` to ``host`` (nothing
    if it is None), or ``ServiceFailed`` if ``call`` raises a QmfaError."""
    try:
        result = call()
    except QmfaError as error:
        host.post_message(ServiceFailed(error, name))
        return
    if (message := deliver(result)) is not None:
        host.post_message(message)
