"""The Users screens made ready while the main menu is read: their modules imported,
their stylesheets parsed, and (in the `qmfa` process) the heap settled.

The first time a screen opened it paid for both on the key press: importing User
Edit's module (and the Textual widgets it uses), and its stylesheet, because
Textual re-parses the app's CSS and restyles every screen in the
stack when a screen brings a file of its own. The first User Edit of a session
opened much slower than later ones (docs/performance.md). Done once after login, in the
moment the person reads the menu, the first open costs what the others do.

Settling the heap: every screen closed leaves its widgets as reference cycles, which
only Python's full collections free, and a full collection walks every object the
process holds, some 100,000 once Textual, peewee and the screens are loaded,
landing in the middle of an open every few screens. Collected once, then frozen
(``gc.freeze``, the interpreter's documented tool for objects that live as long as the
process), those objects are left out of later collections, which then walk only
what came after.
"""

from __future__ import annotations

import gc
import importlib
import inspect
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textual.app import App
from textual.message import Message
from textual.screen import Screen

from qmfa_tui.textual_compat import css_paths

# The Users module's two screens, whose opens have goals at 100,000 users. Every other
# screen is imported when first opened (a cost paid that once): Settings & Audit and its
# modals, and Register a device (its QR code and TOTP libraries), are memory a session
# that never opens them does without.
AFTER_LOGIN = ("qmfa_tui.screens.users", "qmfa_tui.screens.user_edit")


@dataclass
class ScreensImported(Message):
    """Posted to the app by the worker that imported ``modules``."""

    modules: tuple[str, ...]


def prepare_screens(app: App[Any]) -> None:
    """Import the AFTER_LOGIN modules in a thread worker; the app then reads their
    stylesheets (``read_stylesheets``, on its own thread) when it handles ScreensImported."""

    def import_all() -> None:
        for name in AFTER_LOGIN:
            importlib.import_module(name)
        app.post_message(ScreensImported(AFTER_LOGIN))

    app.run_worker(import_all, thread=True, group="prepare-screens", exit_on_error=False)


def stylesheet_paths(modules: Iterable[str]) -> list[Path]:
    """The CSS_PATH files of the screens defined in ``modules`` (imported), resolved as
    Textual resolves them, so that pushing one finds its file already read."""
    paths: list[Path] = []
    for name in modules:
        module = importlib.import_module(name)
        for _, screen in inspect.getmembers(module, inspect.isclass):
            if not (issubclass(screen, Screen) and screen.__module__ == name):
                continue
            for found in css_paths(screen):
                if found not in paths:
                    paths.append(found)
    return paths


def read_stylesheets(app: App[Any], modules: Iterable[str]) -> None:
    """Read the screens' stylesheets the app has not read yet, then parse and restyle
    once (few widgets are mounted at the main menu)."""
    stylesheet = app.stylesheet
    new = [path for path in stylesheet_paths(modules) if not stylesheet.has_source(str(path))]
    for path in new:
        stylesheet.read(path)
    if new:
        stylesheet.reparse()
        stylesheet.update(app)


def settle_heap() -> None:
    """Collect, then freeze what is left out of later collections (see the module's
    docstring), once per process: frozen objects are never collected."""
    if gc.get_freeze_count() == 0:
        gc.collect()
        gc.freeze()
