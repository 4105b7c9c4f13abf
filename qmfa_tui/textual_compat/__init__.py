"""Textual's internals, in one room: every private name of Textual that qmfa uses.

Each piece below says what it replaces and why, and was written against Textual
``TEXTUAL_WRITTEN_FOR`` (peewee ``PEEWEE_WRITTEN_FOR`` for the one reliance on peewee,
in ``database_url.skip_unused_drivers``: a documented ``None`` entry in ``sys.modules``,
no private name). tests/codebase/test_textual_contract.py checks that each name still exists and
still behaves as assumed, so an upgrade fails there, by name, first; nothing outside
this package reads or writes a leading-underscore attribute of Textual
(tests/codebase/test_private_names.py). The rest of qmfa keeps to Textual's public API; where a
class must override a private hook (``_handle_exception``, ``_on_screen_resume``,
``_on_key``), the override is a thin method or a base class defined here.

Reading the terminal (the Linux driver and the escape-sequence parser) is ``terminal``.
One private name stays outside, listed in tests/codebase/test_private_names.py: bench/perf.py
wraps ``App._display`` in the program it spawns to time the first frame, for a bare
Textual app too, which must not import qmfa.
"""

from __future__ import annotations

from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any, ClassVar

from textual import events
from textual.app import App
from textual.binding import Binding
from textual.cache import LRUCache
from textual.css.stylesheet import Stylesheet
from textual.screen import Screen
from textual.widgets import Input

if TYPE_CHECKING:
    from collections.abc import Iterator

TEXTUAL_WRITTEN_FOR = "8.2.8"
PEEWEE_WRITTEN_FOR = "4.5.3"


class ParsedOnceStylesheet(Stylesheet):
    """Textual's stylesheet, with each source parsed once (per theme).

    Textual re-parses every source in a fresh stylesheet whenever a screen brings CSS of
    its own (the first Users, User Edit, … screen) and when the first mode starts (its
    theme variables are set again, unchanged, which empties the cache). Here unchanged
    variables keep the parsed rules, a re-parse parses only the sources not seen yet,
    and the cache holds them all (Textual's keeps 64, fewer than the app's sources once
    a few screens have been opened, and a cycle through more than an LRU holds misses
    every time).

    Private: ``Stylesheet._parse_cache`` (an LRUCache, replaced by a larger one) and
    ``Stylesheet._variables`` (the variables set last). ``reparse`` keeps this object
    where Textual's swaps in a fresh one. Textual's dev-mode CSS reload (`textual run
    --dev`) builds the reloaded sheet with ``Stylesheet.copy``, a plain Stylesheet: the
    reload works, and the app runs on Textual's own stylesheet from then on (knowingly:
    only the parse-once saving is lost, in development).
    """

    def __init__(self, *, variables: dict[str, str] | None = None) -> None:
        super().__init__(variables=variables)
        self._parse_cache = LRUCache(1024)

    def set_variables(self, variables: dict[str, str]) -> None:
        if variables != self._variables:
            super().set_variables(variables)

    def reparse(self) -> None:
        # parse() builds the rules aside and keeps the old ones if a source is invalid,
        # which is why Textual's reparse used a fresh stylesheet.
        self.parse()


class CrashesInOneLine(App[None]):
    """An App whose failure ends it with ``CRASH_EXIT_CODE`` and none of Textual's report.

    Textual's report shows every frame's locals (passwords, codes, secrets) on the
    terminal. Its handling is kept (exit, or re-raise under a test); ``crashed`` hears of
    each failure first, to report it its own way.

    Private: ``App._handle_exception`` (what every failure of the app goes through),
    ``App._exit_renderables`` (what is printed on exit: the traceback, cleared),
    ``App._return_code`` (the process's exit code), and ``App._fatal_error`` (renders a
    traceback with locals from sys.exc_info, none when the input thread's failure
    arrives) of which only the exit (``MessagePump._close_messages_no_wait``) is kept.
    """

    CRASH_EXIT_CODE: ClassVar[int] = 1

    def crashed(self, error: Exception) -> None:
        """Called with each failure, before the app ends."""

    def _handle_exception(self, error: Exception) -> None:
        self.crashed(error)
        super()._handle_exception(error)
        self._exit_renderables.clear()
        self._return_code = self.CRASH_EXIT_CODE

    def _fatal_error(self) -> None:
        self._close_messages_no_wait()


class StyledOnMount:
    """Mixed in before Screen: the first ScreenResume does not restyle the whole screen.

    Textual answers every ScreenResume by restyling the screen and each of its widgets,
    the first one too. A screen being pushed has its widgets styled as they mount, a
    moment before that first ScreenResume reaches it, so the pass redid all of them
    before the first drawing. Only the screen itself needs it: Textual styles the
    screen before it reads the screen's own stylesheet (CSS_PATH) the first time one is
    pushed. Later resumes (back from a screen pushed over this one, when the theme may
    have changed) restyle as before.

    Private: ``Screen._on_screen_resume``, the handler Textual calls for each class down
    the MRO (this one before Screen's), and ``ScreenResume.refresh_styles``, which it
    reads. Not for a ModalScreen: it takes in the drawing of the screen under it at that
    first restyle, and without it a modal is drawn alone.
    """

    _shown_before = False

    def _on_screen_resume(self, event: events.ScreenResume) -> None:
        if not self._shown_before and isinstance(self, Screen):
            self._shown_before = True
            event.refresh_styles = False
            self.app.stylesheet.apply(self, animate=False)

    def preset_breakpoints(self) -> None:
        """Give the screen its breakpoint classes (HORIZONTAL_/VERTICAL_BREAKPOINTS) before
        its children are styled: Textual sets them on the first Resize, and adding a class
        then restyled the screen and every widget on it once more. Later resizes are
        Textual's as before; call at the top of ``compose``. Repeats Textual's choice in
        ``Screen._on_resize``: the largest breakpoint at most the dimension."""
        if not isinstance(self, Screen):
            return
        width, height = self.app.size
        for breakpoints, dimension in (
            (self.HORIZONTAL_BREAKPOINTS, width),
            (self.VERTICAL_BREAKPOINTS, height),
        ):
            for least, name in sorted(breakpoints or [], reverse=True):
                if dimension >= least:
                    self.add_class(name, update=False)  # styled as it mounts
                    break


def css_paths(screen_class: type[Screen[Any]]) -> Iterator[Path]:
    """The files of ``screen_class.CSS_PATH``, resolved as Textual resolves them
    (``DOMNode._css_paths``… in ``App``/``Screen``: relative to the file defining the class)."""
    import inspect

    css_path = screen_class.CSS_PATH
    for path in [css_path] if isinstance(css_path, str | PurePath) else css_path or []:
        yield (Path(inspect.getfile(screen_class)).parent / path).resolve()


class KeysInOrderInput(Input):
    """An Input that runs its own (non-priority) bindings as its key arrives.

    Private: ``Input._on_key`` (the handler that inserts a printable key) and
    ``DOMNode._bindings`` (Textual's merged map of this node's bindings, keymap applied).
    Textual runs an Input's bindings only once the key has bubbled up to the App, after
    keys that arrived later in the same read were inserted (Textualize/textual#6605; the
    open PR #6631 makes the same change upstream).
    """

    async def _on_key(self, event: events.Key) -> None:
        if not event.is_printable and await self.run_own_binding(event.key):
            event.stop()
            event.prevent_default()
            return
        await super()._on_key(event)

    async def run_own_binding(self, key: str) -> bool:
        """Run this field's binding of ``key`` now; whether one ran (a skipped one, such
        as Right at the end of the text with nothing to complete, did not)."""
        for binding in self._bindings.key_to_bindings.get(key, ()):
            if not binding.priority and await self.app.run_action(binding.action, self):
                return True
        return False


def app_bindings(app: App[Any]) -> Iterator[Binding]:
    """The App's own bindings (``DOMNode._bindings``, keymap applied): over a modal they
    are not among the screen's active bindings, though its priority keys still work."""
    for _, binding in app._bindings:
        yield binding


def action_state(app: App[Any], action: str) -> bool | None:
    """Whether the App's ``action`` is enabled (True), disabled (None) or hidden (False),
    as its ``check_action`` says (``App._check_action_state``, what the Footer asks)."""
    return app._check_action_state(action, app)


def suggestion_shown(field: Input) -> str:
    """The completion an Input shows in grey (``Input._suggestion``: only the one for the
    current text is kept), or ""."""
    return field._suggestion


def set_mouse_reporting(app: App[Any], on: bool) -> bool:
    """Ask the terminal to report the mouse (on) or to keep it for its own selection (off).

    Private: ``App._driver`` and its drivers' ``_enable_mouse_support``/
    ``_disable_mouse_support`` (the Linux and Windows drivers write ``\\x1b[?1000h/l`` and
    the like, and do nothing when the app runs without a mouse). False where the driver
    has neither (the headless driver of tests, the web's).
    """
    driver = app._driver
    switch = getattr(driver, "_enable_mouse_support" if on else "_disable_mouse_support", None)
    if not callable(switch):
        return False
    switch()
    return True


class NotesDrawings(Screen[Any]):
    """A screen told of each drawing of it sent to the terminal (for the benchmarks).

    Private: ``Screen._compositor_refresh``, which sends a drawing of the screen.
    """

    def _compositor_refresh(self) -> None:
        super()._compositor_refresh()
        self.drawing_sent()

    def drawing_sent(self) -> None:
        """Called after each drawing of the screen is sent."""
