"""On a real terminal, the plain view of the recovery codes turns mouse reporting off (so
the terminal's own selection works without Shift) and Esc turns it on again.

`python -m qmfa_tui` runs on a pty, as in a person's terminal or under `qmfa serve`; the
test reads the very bytes the app writes to the terminal.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator

import pytest
from ssh_terminal import SshTerminal

from qmfa_tui import cli, storage
from qmfa_tui.services import demo

pytestmark = pytest.mark.slow

MOUSE_OFF = b"\x1b[?1000l"  # VT200 mouse reporting reset (with 1003, 1015, 1006)
MOUSE_ON = b"\x1b[?1000h"


@pytest.fixture
def demo_url(tmp_path) -> Iterator[str]:
    """A small demo database (admin with 2FA and codes; password qmfa-demo)."""
    url = f"sqlite:///{tmp_path}/demo.db"
    assert cli.main(["--database", url, "demo", "--users", "3", "--no-launch"]) == 0
    yield url
    storage.close_database()


def written_after(terminal: SshTerminal, start: int, sequence: bytes, timeout: float = 30) -> bool:
    """Whether the app writes ``sequence`` after byte ``start``, reading up to ``timeout``."""
    deadline = time.monotonic() + timeout
    while sequence not in terminal.received[start:]:
        left = deadline - time.monotonic()
        if left <= 0 or not terminal.read_once(min(left, 0.2)):
            return sequence in terminal.received[start:]
    return True


def test_the_plain_view_releases_the_mouse_and_esc_takes_it_back(demo_url):
    from qmfa_tui.services import twofactor

    code = twofactor.demo_security_code("admin")[0]
    argv = [sys.executable, "-m", "qmfa_tui", "--database", demo_url]
    with SshTerminal(argv) as terminal:
        terminal.expect("Log in to qmfa")
        terminal.type(f"admin\t{demo.DEMO_PASSWORD}\r")
        terminal.expect("Two-step verification")
        terminal.type(f"{code}\r")
        terminal.expect("Logged in as admin")
        assert MOUSE_ON in terminal.received  # the app reports the mouse, as Textual does
        terminal.type(b"a")  # My Account, its Security tab
        terminal.expect("Recovery codes:")
        terminal.type(b"s")  # Show (the password was just given: not asked again)
        if terminal.expect("Confirm your password", "Plain text") != "Plain text":
            terminal.type(f"{demo.DEMO_PASSWORD}\r")
            terminal.expect("Plain text")
        opened = len(terminal.received)
        terminal.type(b"v")
        terminal.expect("as plain text")
        assert written_after(terminal, opened, MOUSE_OFF)
        terminal.read_for(0.5)  # while the view is shown the mouse stays the terminal's
        assert MOUSE_ON not in terminal.received[opened:]
        closed = len(terminal.received)
        terminal.type(b"\x1b")  # Esc
        assert written_after(terminal, closed, MOUSE_ON)
        terminal.type(b"\x11")  # Ctrl+Q
        assert terminal.wait(60) == 0
