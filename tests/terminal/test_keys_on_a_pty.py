"""Keys written to a real terminal in one write() apply in the order they were typed.

`python -m qmfa_tui` runs on a pty, as a person's terminal (or `qmfa serve`'s) runs it;
each burst is one os.write(), so the app reads it in one go, as it does from a paste, a
password manager or an SSH link with any latency.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from ssh_terminal import SshTerminal

from qmfa_tui import cli, storage

pytestmark = pytest.mark.slow

ALT_SCREEN = b"\x1b[?1049h"  # where the app starts drawing


@pytest.fixture
def demo_url(tmp_path) -> Iterator[str]:
    """A small demo database (admin with 2FA, alice without; password qmfa-demo)."""
    url = f"sqlite:///{tmp_path}/demo.db"
    assert cli.main(["--database", url, "demo", "--users", "7", "--no-launch"]) == 0
    yield url
    storage.close_database()


@contextmanager
def app_on_a_pty(url: str) -> Iterator[SshTerminal]:
    with SshTerminal([sys.executable, "-m", "qmfa_tui", "--database", url]) as terminal:
        yield terminal
        terminal.type(b"\x11")  # Ctrl+Q
        assert terminal.wait(60) == 0


def drawn_by_the_app(terminal: SshTerminal) -> bytes:
    received = bytes(terminal.received)
    return received[received.find(ALT_SCREEN) :] if ALT_SCREEN in received else b""


def admin_code() -> str:
    from qmfa_tui.services import twofactor

    return twofactor.demo_security_code("admin")[0]


def test_a_typo_fixed_in_the_password_burst_logs_in(demo_url):
    with app_on_a_pty(demo_url) as terminal:
        terminal.expect("Log in to qmfa")
        terminal.type(b"admin\tqmfa-demx\x7fo\r")
        found = terminal.expect("Two-step verification", "Wrong username or password")
        assert found == "Two-step verification"


def test_a_login_typed_before_the_app_starts_logs_in_and_never_shows_the_password(demo_url):
    # A password of alice's own: the demo's is written on the login screen, in its hint.
    from qmfa_tui.services import accounts

    secret = "alice-own-secret"
    storage.Account.update(password_hash=accounts.hash_password(secret)).where(
        storage.Account.username == "alice"
    ).execute()
    storage.close_database()
    with app_on_a_pty(demo_url) as terminal:
        # Typed at once, before the app has even set the terminal to raw mode.
        terminal.type(f"alice\r{secret}\r")
        terminal.expect("Logged in as alice")
        assert secret.encode() not in drawn_by_the_app(terminal)


def test_editing_keys_in_one_burst_apply_in_order(demo_url):
    """Ctrl+U, Backspace, Home, End, Tab, Ctrl+W, Left, Delete among printable keys."""
    left, home, end, delete = b"\x1b[D", b"\x1b[H", b"\x1b[F", b"\x1b[3~"
    username = b"xyz\x15" + b"adm\x7f\x7f\x7f" + b"dmin" + home + b"a" + end  # admin
    password = b"nope \x17" + b"qmfa-dexo" + left + left + delete + b"m" + end  # qmfa-demo
    with app_on_a_pty(demo_url) as terminal:
        terminal.expect("Log in to qmfa")
        terminal.type(username + b"\t" + password + b"\r")
        found = terminal.expect("Two-step verification", "Wrong username or password")
        assert found == "Two-step verification"


def test_a_search_typo_fixed_in_one_burst_searches_for_what_was_meant(demo_url):
    with app_on_a_pty(demo_url) as terminal:
        terminal.expect("Log in to qmfa")
        terminal.type(b"admin\tqmfa-demo\r")
        terminal.expect("Two-step verification")
        terminal.type(f"{admin_code()}\r")
        terminal.expect("Logged in as admin")
        terminal.type(b"u")
        terminal.expect("users:")
        terminal.type(b"/alx\x7fice\r")
        terminal.expect("matching 'alice'")
        assert "alxic" not in terminal.text()
