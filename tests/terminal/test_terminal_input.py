"""Whatever bytes reach the app's terminal, it keeps running; whatever still fails in any
thread is one line, a private crash file and exit 70; bad bytes in arguments are exit 2."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from ssh_terminal import SshTerminal

from qmfa_tui import cli, crash, storage

pytestmark = pytest.mark.slow

# Bytes that ended the app before: invalid UTF-8, a lone surrogate, numbers too large for
# chr() or a C int, a zero pixel size then a mouse report, a paste start and end.
NASTY = [
    b"\xff",
    b"\xed\xa0\x80",
    b"\x1b[99999999999999999999u",
    b"\x1b[1114112u",
    b"\x1b[1;2;99999999999u",
    b"\x1b[48;0;0;0;0t\x1b[<0;5;5M",
    b"\x1b[48;2000;3000;1;1t",  # 3000x2000 cells: clamped to 1000x500
    b"\x1b[200~",
    b"\x1b[201~",
    b"\x1b[",
    b"\x1b",
    b"\x1b[<",
    b"\xe2\x82",
]
QUIT = b"\x11"  # Ctrl+Q
# Keys that would end or stop the app for a reason of its own: Ctrl+Q quits, Ctrl+Z
# suspends, Ctrl+P opens the palette (whose Quit or Screenshot an Enter could run).
LEAVING = re.compile(rb"[\x10\x11\x1a]")

noise = st.lists(st.sampled_from(NASTY) | st.binary(max_size=24), max_size=12).map(
    lambda parts: LEAVING.sub(b"", b"".join(parts))
)


FRAGMENTS = ["\x1b", "\x1b[", "\x1b[<", ";", ":", "0", "9" * 25, "48", "u", "~", "t", "M"]
FRAGMENTS += ["m", "R", "$y", "?", "200~", "201~", "\n", "\x7f", "a", "\ud800", "I", "O"]


@settings(max_examples=2000, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=3), max_size=40))
def test_the_parser_reads_any_text_without_raising(parts: list[str]):
    from qmfa_tui.textual_compat.terminal import TolerantParser

    parser = TolerantParser()
    for message in parser.feed("".join(parts)):
        assert message is not None


@pytest.fixture
def demo_url(tmp_path) -> Iterator[str]:
    url = f"sqlite:///{tmp_path}/demo.db"
    assert cli.main(["--database", url, "demo", "--users", "7", "--no-launch"]) == 0
    storage.close_database()
    yield url


def quits_cleanly(terminal: SshTerminal) -> None:
    """Close any paste or sequence left open, then Ctrl+Q: the app ends with 0, no crash."""
    terminal.type(b"\x1b[201~")
    terminal.read_for(0.3)  # past the escape delay: a lone ESC is read as Escape
    terminal.type(QUIT)
    assert terminal.wait(60) == 0, terminal.text()[-2000:]
    text = terminal.text()
    assert "internal error" not in text and "Traceback" not in text


def test_random_bytes_on_the_terminal_never_end_the_app(demo_url):
    with SshTerminal([sys.executable, "-m", "qmfa_tui", "--database", demo_url]) as terminal:
        terminal.expect("Log in to qmfa")

        @settings(
            max_examples=25,
            deadline=None,
            database=None,
            phases=(Phase.explicit, Phase.generate),  # a failure ends the process: no shrinking
            suppress_health_check=[HealthCheck.function_scoped_fixture],
        )
        @given(noise)
        @example(b"".join(NASTY))
        def keeps_running(data: bytes) -> None:
            terminal.type(data)
            terminal.read_for(0.1)  # the app's drawing must not fill the pty
            assert terminal.process.poll() is None, terminal.text()[-2000:]

        keeps_running()
        terminal.read_for(0.5)
        assert terminal.process.poll() is None, terminal.text()[-2000:]
        quits_cleanly(terminal)


def test_a_megabyte_paste_with_a_surrogate_in_it_is_read(demo_url):
    paste = b"\x1b[200~" + b"x" * 500_000 + b"\xed\xa0\x80\xff" + b"y" * 500_000 + b"\x1b[201~"
    with SshTerminal([sys.executable, "-m", "qmfa_tui", "--database", demo_url]) as terminal:
        terminal.expect("Log in to qmfa")
        for start in range(0, len(paste), 65536):  # a pty takes a few KiB at a time
            terminal.type(paste[start : start + 65536])
            terminal.read_for(0.01)
        terminal.type(b"\x15bob")  # Ctrl+U: the paste is gone, then a name is typed
        terminal.expect("bob")
        assert terminal.process.poll() is None
        quits_cleanly(terminal)


# The real command in a real process on a pty; something fails outside the event loop while
# a local variable holds a secret.
SECRET = "hunter2-in-a-local-variable"
FAILING_THREAD = textwrap.dedent(f"""
    import sys, threading
    from textual import events
    from textual.drivers import linux_driver
    from qmfa_tui import cli
    from qmfa_tui.app import QmfaApp

    def boom():
        secret_value = {SECRET!r}
        raise RuntimeError("a thread broke")

    if sys.argv[1] == "input":  # the input thread, as a key arrives
        original = linux_driver.LinuxDriver.process_message

        def process_message(self, message):
            if isinstance(message, events.Key):
                boom()
            original(self, message)

        linux_driver.LinuxDriver.process_message = process_message
    else:  # a thread of the app's own, started once the app runs
        QmfaApp.on_ready = lambda self: threading.Thread(target=boom).start()
    sys.exit(cli.main(sys.argv[2:]))
""")


@pytest.mark.parametrize("thread", ["input", "other"])
def test_a_failure_in_any_thread_is_one_line_a_private_file_and_exit_70(
    demo_url, tmp_path: Path, thread: str
):
    argv = [sys.executable, "-c", FAILING_THREAD, thread, "--database", demo_url]
    with SshTerminal(argv) as terminal:
        terminal.expect("Log in to qmfa")
        terminal.type(b"a")
        assert terminal.wait(60) == crash.EXIT_CRASH
        received = bytes(terminal.received)
        after_the_app = received[received.rfind(b"\x1b[?1049l") :].decode("utf-8", "replace")
    assert "Traceback" not in after_the_app and SECRET not in after_the_app
    assert "secret_value" not in terminal.text()
    lines = [line for line in re.split(r"[\r\n]+", after_the_app) if line.strip()]
    assert len(lines) == 1 and "qmfa: internal error (RuntimeError)" in lines[0], lines
    found = re.search(r"the details are in (\S+)\. ", after_the_app)
    assert found, after_the_app
    report = Path(found.group(1))
    assert report.is_relative_to(tmp_path) and report.stat().st_mode & 0o777 == 0o600
    assert "RuntimeError: a thread broke" in report.read_text()


@pytest.mark.parametrize(
    "arguments",
    [
        [b"audit", b"--user", b"\xff"],
        [b"users", b"show", b"al\xedce"],
        [b"--database", b"sqlite:////tmp/\xff.db"],
    ],
)
def test_an_argument_that_is_not_utf8_is_one_line_and_exit_2(tmp_path, arguments):
    done = subprocess.run(
        [sys.executable.encode(), b"-m", b"qmfa_tui", *arguments],
        capture_output=True,
        env={**os.environ, "XDG_DATA_HOME": str(tmp_path)},
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.count(b"\n") == 1 and b"not valid UTF-8" in done.stderr
    assert b"internal error" not in done.stderr
    assert not (tmp_path / "qmfa" / "crashes").exists()


IGNORING_HANGUPS = "import os, signal, sys; signal.signal(signal.SIGHUP, signal.SIG_IGN); " + (
    "os.execv(sys.executable, [sys.executable, '-m', 'qmfa_tui', *sys.argv[1:]])"
)


def test_a_terminal_that_hangs_up_ends_the_app_without_a_crash_file(demo_url, tmp_path):
    """Its reads fail (EIO) once the other end is closed: the app ends, 129, no file."""
    argv = [sys.executable, "-c", IGNORING_HANGUPS, "--database", demo_url]
    with SshTerminal(argv) as terminal:
        terminal.expect("Log in to qmfa")
        os.close(terminal.master)
        terminal.master = -1
        assert terminal.process.wait(60) == 129
    assert list(tmp_path.rglob("crash-*")) == []


def test_a_served_session_is_told_the_crash_file_by_name_not_the_servers_path(
    demo_url, tmp_path: Path, monkeypatch
):
    from qmfa_tui import served_limits as served

    monkeypatch.setenv(served.LOGIN_TIMEOUT_ENV, "120")  # as `qmfa serve` starts the app
    argv = [sys.executable, "-c", FAILING_THREAD, "other", "--database", demo_url]
    with SshTerminal(argv) as terminal:
        terminal.expect("Log in to qmfa")
        assert terminal.wait(60) == crash.EXIT_CRASH
        received = bytes(terminal.received)
        after_the_app = received[received.rfind(b"\x1b[?1049l") :].decode("utf-8", "replace")
    assert "qmfa: internal error (RuntimeError)" in after_the_app
    assert str(tmp_path) not in after_the_app and "/" not in after_the_app.split("(")[1]
    found = re.search(r"finds the details in (crash-\S+\.txt)\. ", after_the_app)
    assert found, after_the_app
    [report] = list(tmp_path.rglob(found.group(1)))
    assert report.stat().st_mode & 0o777 == 0o600
