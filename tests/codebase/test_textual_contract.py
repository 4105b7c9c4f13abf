"""What qmfa_tui/textual_compat assumes of Textual's (and peewee's) internals, checked by
name: after an upgrade, the first failure says which assumption broke.

Signatures are read with inspect; behaviour is checked on a tiny App.
"""

from __future__ import annotations

import inspect
import subprocess
import sys
from importlib.metadata import version
from typing import ClassVar

import pytest
from textual import events
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingsMap
from textual.cache import LRUCache
from textual.css.stylesheet import Stylesheet
from textual.driver import Driver
from textual.drivers.linux_driver import LinuxDriver
from textual.message_pump import MessagePump
from textual.screen import Screen
from textual.widgets import Input

from qmfa_tui import textual_compat
from qmfa_tui.textual_compat import CrashesInOneLine, ParsedOnceStylesheet


def parameters(function: object) -> list[str]:
    return list(inspect.signature(function).parameters)  # type: ignore[arg-type]


def test_the_room_was_written_for_this_major_version_of_textual_and_peewee():
    assert version("textual").split(".")[0] == textual_compat.TEXTUAL_WRITTEN_FOR.split(".")[0]
    assert version("peewee").split(".")[0] == textual_compat.PEEWEE_WRITTEN_FOR.split(".")[0]


# ParsedOnceStylesheet


def test_stylesheet_keeps_its_parse_cache_and_variables_where_the_room_reads_them():
    sheet = Stylesheet(variables={"a": "red"})
    assert isinstance(sheet._parse_cache, LRUCache)
    assert sheet._variables == {"a": "red"}
    sheet._parse_cache.set(("key",), [])
    sheet.set_variables({"a": "red"})  # setting the same variables empties the cache: why
    assert sheet._variables == {"a": "red"} and len(sheet._parse_cache) == 0


def test_parsed_once_keeps_its_cache_when_the_variables_are_unchanged():
    sheet = ParsedOnceStylesheet(variables={"a": "red"})
    assert sheet._parse_cache.maxsize == 1024
    sheet.add_source("Screen { color: $a; }", read_from=("test.tcss", ""))
    sheet.parse()
    cached = len(sheet._parse_cache)
    sheet.set_variables({"a": "red"})
    assert cached > 0 and len(sheet._parse_cache) == cached
    sheet.set_variables({"a": "blue"})
    assert sheet._variables == {"a": "blue"}


def test_dev_mode_reload_copies_into_a_plain_stylesheet_that_parses():
    """`textual run --dev` reloads CSS through Stylesheet.copy: a plain Stylesheet, so the
    parse-once override is dropped there (knowingly) and the reload still works."""
    sheet = ParsedOnceStylesheet(variables={"a": "red"})
    sheet.add_source("Screen { color: $a; }", read_from=("test.tcss", ""))
    copy = sheet.copy()
    assert type(copy) is Stylesheet
    copy.parse()
    assert copy.rules


# CrashesInOneLine


def test_app_crash_hooks_keep_their_signatures():
    assert parameters(App._handle_exception) == ["self", "error"]
    assert parameters(App._fatal_error) == ["self"]
    assert parameters(MessagePump._close_messages_no_wait) == ["self"]


class Failing(App[None]):
    def on_mount(self) -> None:
        raise RuntimeError("secret=hunter2")


def test_textual_prints_a_traceback_on_exit_and_exits_1_where_the_room_changes_it(capfd):
    app = Failing()
    app.run(headless=True)
    assert "secret=hunter2" in capfd.readouterr().err  # the traceback, printed on exit
    assert app._return_code == 1 and app.return_code == 1


def test_a_crash_ends_the_app_with_its_own_code_and_no_traceback(capfd):
    class FailingQuietly(CrashesInOneLine):
        CRASH_EXIT_CODE = 70
        heard: ClassVar[list[Exception]] = []

        def crashed(self, error: Exception) -> None:
            self.heard.append(error)

        def on_mount(self) -> None:
            raise RuntimeError("secret=hunter2")

    app = FailingQuietly()
    app.run(headless=True)
    assert [str(error) for error in FailingQuietly.heard] == ["secret=hunter2"]
    assert app._exit_renderables == []
    assert "hunter2" not in capfd.readouterr().err
    assert app.return_code == 70


# StyledOnMount


def test_screen_resume_is_a_private_handler_with_refresh_styles():
    assert "_on_screen_resume" in vars(Screen)
    assert events.ScreenResume().refresh_styles is True


async def test_breakpoints_preset_as_textual_sets_them_on_resize():
    class Wide(textual_compat.StyledOnMount, Screen[None]):
        HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (80, "-wide")]  # noqa: RUF012
        VERTICAL_BREAKPOINTS = [(0, "-short"), (24, "-tall")]  # noqa: RUF012

        def compose(self) -> ComposeResult:
            self.preset_breakpoints()
            self.preset = {"-narrow", "-wide", "-short", "-tall"} & set(self.classes)
            yield from ()

    app = App[None]()
    async with app.run_test(size=(80, 23)) as pilot:
        screen = Wide()
        await app.push_screen(screen)
        await pilot.pause()
        assert screen.preset == {"-wide", "-short"}
        assert {"-narrow", "-wide", "-short", "-tall"} & set(screen.classes) == screen.preset


# css_paths


def test_css_paths_resolve_beside_the_module_as_textual_reads_them():
    from qmfa_tui.screens.users import UsersScreen

    (path,) = textual_compat.css_paths(UsersScreen)
    assert path.name == "users.tcss" and path.is_file()
    app = App[None]()
    app.stylesheet.read(path)  # what preparing.read_stylesheets does
    assert app.stylesheet.has_source(str(path))


# KeysInOrderInput, app_bindings, action_state, suggestion_shown


def test_input_and_binding_internals_keep_their_shapes():
    assert inspect.iscoroutinefunction(Input._on_key)
    assert parameters(Input._on_key) == ["self", "event"]
    assert parameters(App._check_action_state) == ["self", "action", "default_namespace"]
    field = Input()
    assert isinstance(field._bindings, BindingsMap)
    assert field._bindings.key_to_bindings["backspace"][0].action == "delete_left"
    assert field._suggestion == ""


async def test_app_bindings_and_their_state_as_the_footer_reads_them():
    class Keys(App[None]):
        BINDINGS = [  # noqa: RUF012
            Binding("f2", "shown", "Shown", priority=True),
            Binding("f3", "hidden", "Hidden"),
        ]

        def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
            return {"shown": True, "hidden": None}.get(action, True)

    app = Keys()
    async with app.run_test():
        keys = {binding.key for binding in textual_compat.app_bindings(app)}
        assert {"f2", "f3"} <= keys
        assert textual_compat.action_state(app, "shown") is True
        assert textual_compat.action_state(app, "hidden") is None


async def test_the_suggestion_shown_is_the_one_for_the_current_text():
    from textual.suggester import SuggestFromList

    class Field(App[None]):
        def compose(self) -> ComposeResult:
            yield Input(suggester=SuggestFromList(["login.failed"]))

    app = Field()
    async with app.run_test() as pilot:
        await pilot.press("l", "o")
        await pilot.pause()
        assert textual_compat.suggestion_shown(app.query_one(Input)) == "login.failed"


# set_mouse_reporting, the terminal driver and parser, the benchmarks' hooks


async def test_driver_internals_the_room_uses_exist():
    assert parameters(LinuxDriver._enable_mouse_support) == ["self"]
    assert parameters(LinuxDriver._disable_mouse_support) == ["self"]
    assert parameters(LinuxDriver._run_input_thread) == ["self"]
    assert parameters(Driver.__init__)[:3] == ["self", "app", "debug"]
    driver = LinuxDriver(App(), debug=True, mouse=False, size=(80, 24))
    assert driver._debug is True and isinstance(driver._app, App)
    assert hasattr(driver, "fileno") and hasattr(driver, "exit_event")


async def test_the_app_s_driver_is_where_mouse_reporting_asks_for_it():
    app = App[None]()
    async with app.run_test():
        assert isinstance(app._driver, Driver)
        assert textual_compat.set_mouse_reporting(app, False) is False  # headless: none


def test_xterm_parser_converts_sequences_where_the_tolerant_one_hooks_in():
    from textual._xterm_parser import XTermParser

    assert parameters(XTermParser._sequence_to_key_events) == ["self", "sequence", "alt"]
    keys = list(XTermParser(False)._sequence_to_key_events("\x1b[A"))
    assert [key.key for key in keys] == ["up"]


def test_screens_send_drawings_through_compositor_refresh_and_app_display():
    assert parameters(Screen._compositor_refresh) == ["self"]
    assert parameters(App._display) == ["self", "screen", "renderable"]


# peewee's drivers (database_url.skip_unused_drivers)


@pytest.mark.parametrize("driver", ["psycopg2", "psycopg", "sqlite3"])
def test_peewee_takes_a_driver_marked_absent_as_not_installed(driver):
    program = (
        "import sys\n"
        f"sys.modules[{driver!r}] = None\n"
        "import peewee\n"
        f"print(getattr(peewee, {driver!r}, None) is None)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "True"
