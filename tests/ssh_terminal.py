"""The real OpenSSH client on a pseudo-terminal, as a person at a terminal would run it.

The test (or bench) holds the pty's other end: it reads what the server drew, types keys
and changes the window size. Nothing here knows qmfa's screens; it only finds text in the
bytes received.
"""

from __future__ import annotations

import contextlib
import os
import re
import select
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from qmfa_tui.serve.terminal import set_window_size

SSH = "/usr/bin/ssh"
# Escape sequences and the like: what is left of the screen bytes is the text drawn.
_CONTROL = re.compile(rb"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-_]")


def ssh_command(
    port: int,
    known_hosts: Path,
    user: str = "admin",
    options: Sequence[str] = ("-tt",),
    command: Sequence[str] = (),
) -> list[str]:
    return [
        SSH,
        *options,
        "-F",
        "/dev/null",  # nobody's ~/.ssh/config
        "-p",
        str(port),
        "-o",
        f"UserKnownHostsFile={known_hosts}",
        "-o",
        "GlobalKnownHostsFile=/dev/null",
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        "BatchMode=yes",
        "-o",
        "IdentitiesOnly=yes",
        "-o",
        "IdentityFile=/dev/null",
        f"{user}@127.0.0.1",
        *command,
    ]


class SshTerminal:
    """``argv`` (an ssh command) on a new pty of ``columns`` x ``rows``."""

    def __init__(self, argv: Sequence[str], columns: int = 80, rows: int = 24) -> None:
        self.master, slave = os.openpty()
        set_window_size(slave, columns, rows)
        self.process = subprocess.Popen(
            list(argv),
            stdin=slave,
            stdout=slave,
            stderr=slave,
            start_new_session=True,
            close_fds=True,
        )
        os.close(slave)
        self.received = bytearray()
        self.mark = 0  # expect() looks at what came after this

    def read_for(self, seconds: float) -> None:
        """Collect what arrives within ``seconds`` (or until the pty closes)."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            if not self.read_once(left):
                return

    def read_once(self, timeout: float) -> bool:
        """One read; False once the pty is closed (ssh and whatever it ran are gone)."""
        if self.master < 0:
            return False
        ready, _, _ = select.select([self.master], [], [], max(timeout, 0))
        if not ready:
            return True
        try:
            data = os.read(self.master, 65536)
        except OSError:
            data = b""
        if not data:
            return False
        self.received += data
        return True

    def text(self, start: int = 0, end: int | None = None) -> str:
        """What was drawn from byte ``start`` to ``end``, escape sequences removed."""
        plain = _CONTROL.sub(b"", bytes(self.received[start:end]))
        return plain.decode("utf-8", "replace")

    def _drawn(self, needle: str, end: int | None = None) -> bool:
        text = self.text(self.mark, end)
        return needle in text or needle in re.sub(r"\s+", " ", text)

    def expect(self, *needles: str, timeout: float = 60.0) -> str:
        """Wait until one of ``needles`` is drawn after the mark; the one found.

        The mark moves to just after it, so that what came in the same read (the next
        screen) is still there for the next expect. Raises AssertionError with the screen
        text when none comes within ``timeout``.
        """
        deadline = time.monotonic() + timeout
        open_ = True
        while True:
            for needle in needles:
                if self._drawn(needle):
                    self.mark = self._end_of(needle)
                    return needle
            left = deadline - time.monotonic()
            if left <= 0 or not open_:
                text = self.text(self.mark)
                raise AssertionError(f"none of {needles!r} within {timeout} s; got {text!r}")
            open_ = self.read_once(min(left, 0.5))

    def _end_of(self, needle: str) -> int:
        """The first byte offset by which ``needle`` has been drawn (a binary search)."""
        low, high = self.mark, len(self.received)
        while low < high:
            middle = (low + high) // 2
            if self._drawn(needle, middle):
                high = middle
            else:
                low = middle + 1
        return low

    def type(self, keys: str | bytes) -> None:
        os.write(self.master, keys.encode() if isinstance(keys, str) else keys)

    def resize(self, columns: int, rows: int) -> None:
        set_window_size(self.master, columns, rows)
        # ssh is not this pty's session leader's foreground job: tell it, as the kernel would.
        self.process.send_signal(signal.SIGWINCH)

    def wait(self, timeout: float = 60.0) -> int:
        """ssh's exit code, reading what is left meanwhile (a full pty would block it)."""
        deadline = time.monotonic() + timeout
        while self.process.poll() is None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"ssh still running after {timeout} s: {self.text()!r}")
            if not self.read_once(min(left, 0.2)):
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.process.wait(min(left, 0.2))
        self.read_for(0.05)
        return self.process.returncode

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        if self.master >= 0:
            os.close(self.master)
            self.master = -1

    def __enter__(self) -> SshTerminal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def children_of(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid ...; comm may hold spaces and parentheses.
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found
