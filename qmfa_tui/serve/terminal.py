"""One program on its own pseudo-terminal, driven from the event loop.

The program is spawned with posix_spawn (no Python runs between fork and exec, so the
server's threads cannot deadlock it) as the leader of a new session whose controlling
terminal is the pty: a window change reaches it as SIGWINCH, closing the pty hangs it
up, and its process group (its id) holds every process it starts, so one killpg ends
them all.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import os
import resource
import signal
import struct
import termios
from collections.abc import Callable, Mapping, Sequence

# Signals the server may ignore or handle that the program must get with their default
# meaning (posix_spawn keeps an ignored signal ignored across exec).
_DEFAULT_SIGNALS = frozenset(
    {signal.SIGHUP, signal.SIGINT, signal.SIGQUIT, signal.SIGTERM, signal.SIGPIPE}
)
_READ_SIZE = 65536
STATUS_FD = 3  # where the program finds the status pipe, if it was given one


def set_window_size(fd: int, columns: int, rows: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))


def _echo_off(fd: int) -> None:
    """Typed-ahead bytes stay unechoed until the program sets the modes it wants: the pty
    would otherwise send them (a password) back to the client before the app draws."""
    attributes = termios.tcgetattr(fd)
    attributes[3] &= ~(termios.ECHO | termios.ECHONL)
    termios.tcsetattr(fd, termios.TCSANOW, attributes)


class TerminalProcess:
    """``argv`` on a new pty; ``on_output`` gets what it writes, ``on_exit`` its exit code.

    Output is read only while ``reading`` (flow control: the SSH channel's buffer is full).
    Input the program has not read yet waits in ``pending_input``; ``on_input_drained``
    is called when all of it went in (flow control the other way). ``memory_limit``
    (bytes) is the program's address-space limit (RLIMIT_AS), set as it starts.
    """

    def __init__(
        self,
        argv: Sequence[str],
        env: Mapping[str, str],
        columns: int,
        rows: int,
        on_output: Callable[[bytes], None],
        on_exit: Callable[[int], None],
        on_status: Callable[[bytes], None] | None = None,
        *,
        memory_limit: int | None = None,
        on_input_drained: Callable[[], None] | None = None,
    ) -> None:
        self._loop = asyncio.get_running_loop()
        self._on_output = on_output
        self._on_input_drained = on_input_drained
        self._on_exit = on_exit
        self._on_status = on_status
        self._pending = bytearray()  # input the program has not read yet
        self._reading = False
        self.returncode: int | None = None
        self._exited = asyncio.Event()
        self._status = -1
        actions: list[tuple[int, ...] | tuple[int, int, str, int, int]] = []
        status_write = -1
        if on_status is not None:
            # The program's fd STATUS_FD: lines it writes there reach ``on_status``.
            self._status, status_write = os.pipe()
            if status_write == STATUS_FD:  # dup2 onto itself would keep it close-on-exec
                status_write = os.dup(STATUS_FD)
                os.close(STATUS_FD)
            actions.append((os.POSIX_SPAWN_DUP2, status_write, STATUS_FD))
        self.master, slave = os.openpty()
        try:
            set_window_size(slave, max(columns, 1), max(rows, 1))
            _echo_off(slave)
            self.pid = os.posix_spawn(
                argv[0],
                list(argv),
                dict(env),
                file_actions=[
                    # Opened after setsid and without O_NOCTTY: the controlling terminal.
                    (os.POSIX_SPAWN_OPEN, 0, os.ttyname(slave), os.O_RDWR, 0),
                    (os.POSIX_SPAWN_DUP2, 0, 1),
                    (os.POSIX_SPAWN_DUP2, 0, 2),
                    *actions,
                ],
                setsid=True,
                setsigmask=(),
                setsigdef=_DEFAULT_SIGNALS,
            )
        except BaseException:
            os.close(self.master)
            if self._status >= 0:
                os.close(self._status)
            raise
        finally:
            os.close(slave)
            if status_write >= 0:
                os.close(status_write)
        if memory_limit is not None:
            # Python takes a while to start: the limit is in place well before the app
            # allocates anything that counts.
            with contextlib.suppress(ProcessLookupError):
                resource.prlimit(self.pid, resource.RLIMIT_AS, (memory_limit, memory_limit))
        os.set_blocking(self.master, False)
        self._pidfd = os.pidfd_open(self.pid)
        self._loop.add_reader(self._pidfd, self._reap)
        if self._status >= 0:
            os.set_blocking(self._status, False)
            self._loop.add_reader(self._status, self._read_status)
        self.resume_reading()

    def _read_status(self) -> None:
        try:
            data = os.read(self._status, 4096)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:  # every writer is gone
            self._close_status()
        elif self._on_status is not None:
            self._on_status(data)

    def _close_status(self) -> None:
        if self._status >= 0:
            self._loop.remove_reader(self._status)
            os.close(self._status)
            self._status = -1

    @property
    def running(self) -> bool:
        return self.returncode is None

    @property
    def pending_input(self) -> int:
        """Bytes written to the program that its pty has not taken yet."""
        return len(self._pending)

    def write(self, data: bytes) -> None:
        if self.master < 0:
            return
        if self._pending:
            self._pending += data
            return
        written = self._write_some(data)
        if written < len(data):
            self._pending += data[written:]
            self._loop.add_writer(self.master, self._flush)

    def _write_some(self, data: bytes | bytearray) -> int:
        try:
            return os.write(self.master, data)
        except BlockingIOError:
            return 0
        except OSError:
            self._pending.clear()  # the program is gone; its exit is on the way
            return len(data)

    def _flush(self) -> None:
        del self._pending[: self._write_some(self._pending)]
        if not self._pending:
            self._loop.remove_writer(self.master)
            if self._on_input_drained is not None:
                self._on_input_drained()

    def resize(self, columns: int, rows: int) -> None:
        if self.master >= 0:
            with contextlib.suppress(OSError):
                set_window_size(self.master, max(columns, 1), max(rows, 1))

    def pause_reading(self) -> None:
        if self._reading and self.master >= 0:
            self._loop.remove_reader(self.master)
        self._reading = False

    def resume_reading(self) -> None:
        if not self._reading and self.master >= 0:
            self._loop.add_reader(self.master, self._read)
        self._reading = True

    def _read(self) -> None:
        try:
            data = os.read(self.master, _READ_SIZE)
        except BlockingIOError:
            return
        except OSError as error:
            if error.errno != errno.EIO:  # EIO: every end of the pty closed
                raise
            data = b""
        if data:
            self._on_output(data)
        else:
            self.pause_reading()

    def signal(self, number: int) -> None:
        """Send ``number`` to the program's whole process group, while it is not reaped."""
        if self.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, number)

    async def stop(self, grace: float) -> None:
        """SIGTERM, then SIGKILL to the group if it has not ended within ``grace`` seconds."""
        self.signal(signal.SIGTERM)
        await self.wait(grace)
        self.signal(signal.SIGKILL)
        await self.wait(None)

    async def wait(self, timeout: float | None) -> None:
        """Until the program has ended (and was reaped), or ``timeout`` seconds."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._exited.wait(), timeout)

    def _reap(self) -> None:
        # The program is a zombie: its id is still its own, so the group can be killed
        # (children it left) before it is reaped and the id may be reused.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)
        _, status = os.waitpid(self.pid, 0)
        self._loop.remove_reader(self._pidfd)
        os.close(self._pidfd)
        # What it wrote last (its goodbye line) is still in the pty.
        self.pause_reading()
        while True:
            try:
                data = os.read(self.master, _READ_SIZE)
            except OSError:
                break
            if not data:
                break
            self._on_output(data)
        if self._pending:
            self._loop.remove_writer(self.master)
            self._pending.clear()
        os.close(self.master)
        self.master = -1
        if self._status >= 0:
            self._read_status()  # the last word it said
        self._close_status()
        self.returncode = os.waitstatus_to_exitcode(status)
        self._exited.set()
        self._on_exit(self.returncode)
