"""Driving the app as a person would: 80x24, keys, waiting for workers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import suppress
from typing import Any

from textual.app import App
from textual.pilot import Pilot
from textual.widgets import Input
from textual.worker import WorkerCancelled

from qmfa_tui.app import QmfaApp
from qmfa_tui.services.session import Actor

SIZE = (80, 24)


async def settle(pilot: Pilot) -> None:
    """Let workers finish and the screen catch up with their messages."""
    for _ in range(2):
        for worker in list(pilot.app.workers):
            with suppress(WorkerCancelled):  # replaced by a newer one (an exclusive worker)
                await worker.wait()
        await pilot.pause()


async def type_into(pilot: Pilot, selector: str, text: str, *, submit: bool = True) -> None:
    field = pilot.app.screen.query_one(selector, Input)
    field.focus()
    field.value = text
    if submit:
        await pilot.press("enter")
    await settle(pilot)


async def log_in_password(pilot: Pilot, username: str, password: str) -> None:
    await type_into(pilot, "#username", username)
    await type_into(pilot, "#password", password)


async def log_in_and_press(pilot: Pilot, actor: Actor, key: str) -> None:
    """Log in as ``actor``, then press a main-menu key (u: Users, g: Settings) and wait."""
    app: QmfaApp = pilot.app  # type: ignore[assignment]  # Pilot is generic in the app's return
    app.log_in(actor)
    await settle(pilot)
    await pilot.press(key)
    await settle(pilot)


def screen_text(app: QmfaApp) -> str:
    """The text of every visible Static (labels, messages, buttons) on the current screen."""
    from textual.widgets import Static

    return "\n".join(str(widget.render()) for widget in app.screen.query(Static) if widget.display)


def table_usernames(app: QmfaApp) -> list[str]:
    from qmfa_tui.widgets.user_table import UserTable

    return [row.username for row in app.screen.query_one("#users", UserTable).rows]


async def burst(pilot: Pilot, text: str) -> None:
    """Keys as a fast typist, a paste or a password manager sends them: all at once, with no
    pause for the app to handle one before the next ("\\n" is Enter, "\\t" is Tab)."""
    from textual import events

    driver = pilot.app._driver
    assert driver is not None
    named = {"\n": ("enter", "\r"), "\t": ("tab", "\t")}
    for character in text:
        key, char = named.get(character, (character, character))
        event = events.Key(key, char)
        event.set_sender(pilot.app)
        driver.send_message(event)


async def wait_until(pilot: Pilot, condition: Callable[[], bool], *, tries: int = 100) -> None:
    """Let the app work (workers included) until ``condition`` holds; fail after ``tries``."""
    for _ in range(tries):
        if condition():
            return
        await settle(pilot)
        await pilot.pause(0.02)
    assert condition(), "the app never reached the expected state"


def shown(app: App[Any], selector: str) -> bool:
    """The widget is on the current screen and laid out in sight: a click on it lands on it
    (a screen may move it into sight a refresh after its worker's answer arrives)."""
    from textual.css.query import NoMatches

    try:
        widget = app.screen.query_one(selector)
    except NoMatches:
        return False
    region = widget.region
    if not region or not app.screen.size.region.contains_point(region.offset):
        return False
    under, _ = app.get_widget_at(*region.offset)
    return under is widget or widget in under.ancestors


async def laid_out(pilot: Pilot) -> None:
    """The current screen has run what it asked to run after its next refresh (a dialog
    fitting itself to its worker's answer) and drawn what that changed.

    A screen runs its after-refresh callbacks in order, once nothing is left to lay out or
    paint: the first wait lets the callbacks queued before it run, the second lets the
    layout they changed be drawn. Bounded: a screen that never settles fails the test."""
    screen = pilot.app.screen
    for _ in range(2):
        await asyncio.wait_for(screen.wait_for_refresh(), timeout=60)


async def click_shown(pilot: Pilot, selector: str) -> None:
    """Click ``selector`` once it is in sight on the current screen and laid out for good:
    a click aimed at where a widget was before a pending layout lands on what moved there."""
    await wait_until(pilot, lambda: shown(pilot.app, selector))
    await laid_out(pilot)
    await wait_until(pilot, lambda: shown(pilot.app, selector))
    assert await pilot.click(selector), f"the click meant for {selector} landed elsewhere"
