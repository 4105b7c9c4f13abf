"""Reading the terminal: any bytes at all are read or skipped, never a crash.

Textual's input thread decodes stdin as strict UTF-8 and feeds an escape-sequence parser
that converts numbers with ``chr``/``int``: one byte ``\\xff``, a paste holding a lone
surrogate (``\\xed\\xa0\\x80``) or ``\\x1b[99999999999999999999u`` raises in that thread,
and Textual then draws a traceback (with the server's paths and source) and exits 0.
Over ``qmfa serve`` those bytes come from anyone who can reach the port.

``TolerantDriver`` (used by ``QmfaApp.get_driver_class`` on Linux and macOS) reads with
``errors="replace"``, skips a sequence the parser cannot convert, starts a fresh parser
if one fails anyway, clamps a window size announced in-band, and sends whatever still
raises in its thread (or any other thread) to the app's crash path: one line, a private
crash file, exit 70.

Textual's private API used for reading the terminal (written against Textual
``TEXTUAL_WRITTEN_FOR``): the module ``textual._xterm_parser``,
``LinuxDriver._run_input_thread`` (the thread's target), ``run_input_thread``,
``fileno``, ``exit_event``, ``Driver._debug``, ``Driver._app``, ``App._handle_exception``
and ``XTermParser._sequence_to_key_events``.
"""

from __future__ import annotations

import codecs
import errno
import os
import selectors
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING

from textual import events
from textual.drivers.linux_driver import LinuxDriver
from textual.geometry import Size
from textual.keys import Keys

from textual._xterm_parser import XTermParser  # isort: skip  # private: see the docstring

if TYPE_CHECKING:
    from textual.message import Message

# The exit code when the terminal hangs up under the app (128 + SIGHUP, as a shell says).
HANGUP_EXIT = 129
# What one read takes from the terminal (Textual's own size).
READ_SIZE = 4096
# The largest window the app draws, whatever a terminal (or a stranger's bytes) announces:
# far beyond any real screen, small enough that a frame stays a few MB.
MAX_COLUMNS = 1000
MAX_ROWS = 500

# Errors converting the numbers of one escape sequence (``chr(2**70)``, a pixel size of 0).
_SEQUENCE_ERRORS = (ValueError, OverflowError, ZeroDivisionError, IndexError, KeyError)


class TolerantParser(XTermParser):
    """Textual's parser, with a sequence it cannot convert skipped rather than raised.

    A newline is Enter: keys typed before the app set the terminal to raw mode reach it
    through the line discipline, which turned each Enter into ``\\n`` (ICRNL); read as
    Ctrl+J it left the rest of the burst in the Username field.
    """

    def _sequence_to_key_events(self, sequence: str, alt: bool = False) -> Iterable[events.Key]:
        if sequence == "\n" and not alt:
            return [events.Key("enter", "\r")]
        try:
            return list(super()._sequence_to_key_events(sequence, alt))
        except _SEQUENCE_ERRORS:
            # An "ignore" key: the parser takes the sequence as read, and drops it.
            return [events.Key(Keys.Ignore, sequence)]

    def parse_mouse_code(self, code: str) -> Message | None:
        try:
            return super().parse_mouse_code(code)
        except _SEQUENCE_ERRORS:
            return None


def clamped_size(size: Size) -> Size:
    """``size`` within 1x1 .. MAX_COLUMNS x MAX_ROWS."""
    return Size(min(max(size.width, 1), MAX_COLUMNS), min(max(size.height, 1), MAX_ROWS))


class TolerantDriver(LinuxDriver):
    """Textual's Linux driver, reading stdin so that no byte sequence ends the app."""

    def _run_input_thread(self) -> None:
        try:
            self.run_input_thread()
        except BaseException as error:  # whatever it is, it takes the app's crash path
            self.report_crash(error)

    def hang_up(self) -> None:
        """The terminal is gone (its SSH client left): the app ends, with no crash file."""
        self._app.call_later(self._app.exit, None, HANGUP_EXIT)

    def report_crash(self, error: BaseException) -> None:
        """From any thread: the app ends through its crash path (one line, exit 70)."""
        crashed = error if isinstance(error, Exception) else RuntimeError(repr(error))
        self._app.call_later(self._app._handle_exception, crashed)

    def run_input_thread(self) -> None:
        decode = codecs.getincrementaldecoder("utf-8")(errors="replace").decode
        parser = TolerantParser(self._debug)
        # select(), as Textual: macOS kqueue cannot watch a terminal.
        with selectors.SelectSelector() as selector:
            selector.register(self.fileno, selectors.EVENT_READ)
            reading = True
            while not self.exit_event.is_set():
                if not reading:
                    self.exit_event.wait(0.1)
                elif selector.select(0.1):
                    try:
                        data = os.read(self.fileno, READ_SIZE)
                    except OSError as error:
                        if error.errno != errno.EIO:
                            raise
                        self.hang_up()
                        return
                    if not data:  # stdin is a pipe or a file, and it ended
                        selector.unregister(self.fileno)
                        reading = False
                    else:
                        parser = self._parse(parser, parser.feed(decode(data)))
                parser = self._parse(parser, parser.tick())

    def _parse(self, parser: TolerantParser, parsed: Iterable[Message]) -> TolerantParser:
        """Send the ``parsed`` messages (a generator of ``parser``'s); the parser to use
        next: a new one if it failed (what it held of an unfinished sequence is dropped)."""
        messages = iter(parsed)
        while True:
            try:
                message = next(messages)
            except StopIteration:
                return parser
            except Exception:  # a sequence no terminal sends: skip it
                return TolerantParser(self._debug)
            self.process_message(message)

    def process_message(self, message: Message) -> None:
        if isinstance(message, events.Resize):  # announced in-band: any numbers at all
            size = clamped_size(message.size)
            if size != message.size:
                message = events.Resize.from_dimensions(
                    (size.width, size.height), message.pixel_size
                )
        super().process_message(message)

    def start_application_mode(self) -> None:
        super().start_application_mode()
        self._previous_excepthook = threading.excepthook
        threading.excepthook = self._thread_crashed

    def stop_application_mode(self) -> None:
        threading.excepthook = getattr(self, "_previous_excepthook", threading.__excepthook__)
        super().stop_application_mode()

    def _thread_crashed(self, failure: threading.ExceptHookArgs) -> None:
        error = failure.exc_value
        if isinstance(error, OSError) and error.errno == errno.EIO:  # writing to no terminal
            self.hang_up()
        elif error is not None and not isinstance(error, SystemExit):
            self.report_crash(error)
