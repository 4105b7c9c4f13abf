"""Opening a screen drawn whole: what it shows is read first, then it is pushed.

Asked by a screen once it is mounted, its queries share the interpreter with the
screen being built and drawn and come back after the first drawing, for more
drawings. Read before the push, the first drawing is the whole screen.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

from textual.dom import DOMNode
from textual.screen import Screen
from textual.worker import get_current_worker

from qmfa_tui.errors import QmfaError
from qmfa_tui.services.session import Actor
from qmfa_tui.widgets.qmfa_app import qmfa_app

Read = TypeVar("Read")


def read_then_push(
    host: DOMNode,
    actor: Actor,
    read: Callable[[], Read],
    build: Callable[[Read], Screen[Any]],
    *,
    if_failed: Callable[[QmfaError], Screen[Any] | None],
    group: str,
) -> None:
    """Run ``read`` (blocking: it calls services) in a thread worker of ``host``, then
    push the screen ``build`` makes of what it read; if it raises a QmfaError,
    ``if_failed`` may give a screen to push instead (or say what failed and give None).

    Both run on the app's thread, and only if ``actor``'s session is still the one
    logged in: a log-out while reading would have put the screen over the login. A
    second call in the same ``group`` while one is reading replaces it (a double
    Enter opens one screen).
    """
    app = qmfa_app(host)

    def read_in_thread() -> None:
        make: Callable[[], Screen[Any] | None]
        try:
            make = partial(build, read())
        except QmfaError as error:
            make = partial(if_failed, error)  # the name `error` is gone after the block
        if get_current_worker().is_cancelled:
            return

        def push() -> None:
            if app.still_logged_in(actor) and (screen := make()) is not None:
                app.push_screen(screen)

        app.call_from_thread(push)

    host.run_worker(read_in_thread, thread=True, exclusive=True, group=group)
