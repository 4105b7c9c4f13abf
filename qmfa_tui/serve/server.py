"""`qmfa serve`: an SSH server whose only program is the qmfa app.

Each SSH session that asks for a terminal gets its own qmfa TUI process on a pty,
running as the server's account; everything else an SSH client may ask for (a command,
a shell without a terminal, sftp or another subsystem, port, agent or X11 forwarding)
is refused with one line. Authentication is qmfa's own, in the app: SSH-level
authentication is "none", or a public key from an authorized_keys file.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import signal
import sys
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import asyncssh

from qmfa_tui import served
from qmfa_tui.serve.terminal import STATUS_FD, TerminalProcess

# The app closes a session at its login or idle timeout; the server ends one that overran
# either by this much, as a backstop (the app tells it when somebody logs in and out).
BACKSTOP_SECONDS = 30.0
STOP_GRACE_SECONDS = 5.0  # SIGTERM, then SIGKILL
RATE_WINDOW_SECONDS = 60.0
# Textual's terminal modes, left on when the app could not leave them itself (killed):
# main screen, cursor shown, no mouse reports, no bracketed paste, no focus events,
# the keyboard protocol popped, plain colours.
TERMINAL_RESET = (
    b"\x1b[?1049l\x1b[?25h\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1006l\x1b[?1015l"
    b"\x1b[?2004l\x1b[?1004l\x1b[<u\x1b[0m"
)

_PLAIN_WORD = re.compile(r"[A-Za-z0-9._@+-]{1,64}")

REFUSE_EXEC = "qmfa serve: no commands here, only the qmfa app: connect with plain `ssh`."
REFUSE_NO_TERMINAL = "qmfa serve: the qmfa app needs a terminal: connect without -T, or with -t."
REFUSE_SUBSYSTEM = "qmfa serve: no sftp or other subsystem here, only the qmfa app."
REFUSE_FORWARDING = "qmfa serve: no port forwarding here, only the qmfa app."


@dataclass(frozen=True)
class ServeConfig:
    host: str
    port: int
    host_key: asyncssh.SSHKey
    tui_env: Mapping[str, str]  # the environment of every TUI process (database, key)
    max_sessions: int = 16
    login_timeout: float = 120.0
    idle_timeout: float = 900.0
    authorized_keys: Path | None = None
    connections_per_minute: int = 30  # from one client address
    backstop_seconds: float = BACKSTOP_SECONDS
    tui_argv: Sequence[str] = (sys.executable, "-m", "qmfa_tui")
    # Writes an audit event: (action, client address, SSH username, detail).
    audit: Callable[[str, str, str, str], None] | None = None
    log: Callable[[str], None] = field(default=lambda line: print(line, file=sys.stderr))


class RateLimit:
    """At most ``limit`` new connections per client address in any ``window`` seconds."""

    def __init__(self, limit: int, window: float = RATE_WINDOW_SECONDS) -> None:
        self.limit = limit
        self.window = window
        self._seen: dict[str, deque[float]] = {}

    def allow(self, address: str, now: float) -> bool:
        if len(self._seen) > 10_000:  # forget the addresses that have gone quiet
            for quiet in [a for a, times in self._seen.items() if now - times[-1] > self.window]:
                del self._seen[quiet]
        times = self._seen.setdefault(address, deque())
        while times and now - times[0] >= self.window:
            times.popleft()
        if len(times) >= self.limit:
            return False
        times.append(now)
        return True


class QmfaServer:
    """The listener, its sessions and their limits."""

    def __init__(self, config: ServeConfig) -> None:
        self.config = config
        self.sessions: set[TuiSession] = set()
        self.connections = 0
        self.rate = RateLimit(config.connections_per_minute)
        self._acceptor: asyncssh.SSHAcceptor | None = None
        self._audit_thread = ThreadPoolExecutor(1, thread_name_prefix="qmfa-serve-audit")
        self._audit_tasks: set[asyncio.Future[None]] = set()
        self.stopping = False

    @property
    def max_connections(self) -> int:
        """Connections at once, sessions or not yet: enough for every session and then some."""
        return self.config.max_sessions * 2 + 8

    async def start(self) -> tuple[str, int]:
        """Listen; the address and port listened on (port 0 asks the system for one)."""
        logging.getLogger("asyncssh").setLevel(logging.WARNING)
        config = self.config
        self._acceptor = await asyncssh.listen(
            config.host,
            config.port,
            server_factory=lambda: _Connection(self),
            server_host_keys=[config.host_key],
            authorized_client_keys=(
                str(config.authorized_keys) if config.authorized_keys is not None else None
            ),
            encoding=None,
            line_editor=False,
            agent_forwarding=False,
            x11_forwarding=False,
            allow_scp=False,
            login_timeout=config.login_timeout or 120.0,
            keepalive_interval=30,
            keepalive_count_max=4,
        )
        host, port = self._acceptor.sockets[0].getsockname()[:2]
        return str(host), int(port)

    async def stop(self) -> None:
        """Stop listening, end every session (each client is told), write the audit."""
        self.stopping = True
        if self._acceptor is not None:
            self._acceptor.close()
        await asyncio.gather(
            *(s.stop("qmfa serve: the server is stopping.") for s in self.sessions)
        )
        if self._acceptor is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._acceptor.wait_closed(), STOP_GRACE_SECONDS)
        if self._audit_tasks:
            await asyncio.wait(self._audit_tasks)
        self._audit_thread.shutdown(wait=True)

    def audit(self, action: str, address: str, username: str, detail: str = "") -> None:
        """Write an audit event in the audit thread (a database write must not stall the
        other sessions); a failure is logged, the session goes on."""
        record = self.config.audit
        if record is None:
            return

        def write() -> None:
            try:
                record(action, address, username, detail)
            except Exception as error:  # the database is down: the sessions still work
                self.config.log(f"qmfa serve: could not write the audit event {action}: {error}")

        task = asyncio.get_running_loop().run_in_executor(self._audit_thread, write)
        self._audit_tasks.add(task)
        task.add_done_callback(self._audit_tasks.discard)


class _Connection(asyncssh.SSHServer):
    def __init__(self, server: QmfaServer) -> None:
        self.server = server
        self.conn: asyncssh.SSHServerConnection | None = None
        self.address = "?"
        self.port = 0
        self.local_address = "?"
        self.local_port = 0
        self.username = ""
        self.refusal: str | None = None
        self.counted = False
        self.open_sessions = 0
        self._without_session: asyncio.TimerHandle | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self.conn = conn
        peer = conn.get_extra_info("peername") or ("?", 0)
        local = conn.get_extra_info("sockname") or ("?", 0)
        self.address, self.port = str(peer[0]), int(peer[1])
        self.local_address, self.local_port = str(local[0]), int(local[1])
        server = self.server
        server.connections += 1
        self.counted = True
        if server.connections > server.max_connections:
            self.refusal = "qmfa serve: too many connections at once; try again later."
        elif not server.rate.allow(self.address, time.monotonic()):
            self.refusal = (
                f"qmfa serve: more than {server.config.connections_per_minute} connections "
                "from your address within a minute; wait a minute."
            )

    def connection_lost(self, exc: Exception | None) -> None:
        if self.counted:
            self.server.connections -= 1
            self.counted = False
        if self._without_session is not None:
            self._without_session.cancel()
        self.conn = None

    def auth_completed(self) -> None:
        self._close_if_no_session()

    def _close_if_no_session(self) -> None:
        """A connection holding no session (`ssh -N`, a finished multiplexer) still takes
        a place among the connections: it is closed after the login timeout."""
        if self._without_session is not None:
            self._without_session.cancel()
        self._without_session = asyncio.get_running_loop().call_later(
            self.server.config.login_timeout or 120.0, self._no_session
        )

    def _no_session(self) -> None:
        if self.open_sessions == 0 and self.conn is not None:
            self.conn.disconnect(
                asyncssh.DISC_BY_APPLICATION, "qmfa serve: no session was opened; goodbye."
            )

    def session_closed(self) -> None:
        self.open_sessions -= 1
        if self.open_sessions == 0 and self.conn is not None:
            self._close_if_no_session()

    def begin_auth(self, username: str) -> bool:
        self.username = username
        if self.refusal is not None:
            self.server.config.log(f"{self.refusal} ({self.address})")
            raise asyncssh.DisconnectError(asyncssh.DISC_TOO_MANY_CONNECTIONS, self.refusal)
        return self.server.config.authorized_keys is not None

    def session_requested(self) -> TuiSession:
        self.open_sessions += 1
        return TuiSession(self)

    def connection_requested(
        self, dest_host: str, dest_port: int, orig_host: str, orig_port: int
    ) -> bool:
        raise asyncssh.ChannelOpenError(
            asyncssh.OPEN_ADMINISTRATIVELY_PROHIBITED, REFUSE_FORWARDING
        )

    def unix_connection_requested(self, dest_path: str) -> bool:
        raise asyncssh.ChannelOpenError(
            asyncssh.OPEN_ADMINISTRATIVELY_PROHIBITED, REFUSE_FORWARDING
        )

    def server_requested(self, listen_host: str, listen_port: int) -> bool:
        return False

    def unix_server_requested(self, listen_path: str) -> bool:
        return False


class TuiSession(asyncssh.SSHServerSession[bytes]):
    """One SSH session: the qmfa app on a pty, or a refusal in one line."""

    def __init__(self, connection: _Connection) -> None:
        self.connection = connection
        self.server = connection.server
        self.chan: asyncssh.SSHServerChannel[bytes] | None = None
        self.request: str | None = None
        self.term: str | None = None
        self.size = (80, 24)
        self.process: TerminalProcess | None = None
        self.started_at = 0.0
        self.last_input = 0.0
        self.goodbye: str | None = None  # said after the app left, when the server ended it
        self.logged_in = False  # as the app last said (served.py's status pipe)
        self.state_since = 0.0
        self._status = bytearray()
        self._watch: asyncio.Task[None] | None = None
        self._hangup: asyncio.Future[None] | None = None

    # -- what the client asks for --------------------------------------------------------

    def connection_made(self, chan: asyncssh.SSHServerChannel[bytes]) -> None:
        self.chan = chan

    def pty_requested(
        self, term_type: str, term_size: tuple[int, int, int, int], term_modes: Mapping[int, int]
    ) -> bool:
        # Any text the client sent; the app's environment gets a plain terminal name.
        self.term = term_type if _PLAIN_WORD.fullmatch(term_type) else "xterm-256color"
        if term_size[0] and term_size[1]:
            self.size = (term_size[0], term_size[1])
        return True

    def shell_requested(self) -> bool:
        self.request = "shell"
        return True

    def exec_requested(self, command: str) -> bool:
        self.request = "exec"
        return True  # accepted, to be refused in words (a bare failure says nothing)

    def subsystem_requested(self, subsystem: str) -> bool:
        self.request = "subsystem"
        return True

    def session_started(self) -> None:
        if self.request == "exec":
            self._refuse(REFUSE_EXEC, "a command")
        elif self.request == "subsystem":
            self._refuse(REFUSE_SUBSYSTEM, "a subsystem")
        elif self.term is None:
            self._refuse(REFUSE_NO_TERMINAL, "no terminal")
        elif self.server.stopping:
            self._refuse("qmfa serve: the server is stopping.", "stopping")
        elif len(self.server.sessions) >= self.server.config.max_sessions:
            limit = self.server.config.max_sessions
            self._refuse(
                f"qmfa serve: all sessions are in use (at most {limit} at once); try again later.",
                "sessions full",
            )
        else:
            self._start_app()

    def terminal_size_changed(self, width: int, height: int, pixwidth: int, pixheight: int) -> None:
        if width and height:
            self.size = (width, height)
            if self.process is not None:
                self.process.resize(width, height)

    def data_received(self, data: bytes, datatype: int | None) -> None:
        self.last_input = time.monotonic()
        if self.process is not None:
            self.process.write(data)

    def eof_received(self) -> bool:
        return True  # the client sends no more; the app goes on until it is left

    def break_received(self, msec: int) -> bool:
        return False

    def pause_writing(self) -> None:
        if self.process is not None:
            self.process.pause_reading()

    def resume_writing(self) -> None:
        if self.process is not None:
            self.process.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        """The channel closed (the app ended, or the client left: then hang the app up and
        end it)."""
        self.chan = None
        self.connection.session_closed()
        if self.process is not None and self.process.running:
            self.process.signal(signal.SIGHUP)
            self._hangup = asyncio.ensure_future(self.process.stop(STOP_GRACE_SECONDS))

    # -- the app -------------------------------------------------------------------------

    def _refuse(self, line: str, reason: str) -> None:
        connection = self.connection
        self.server.config.log(f"qmfa serve: refused {reason} from {connection.address}")
        if reason not in ("stopping",):
            self.server.audit(
                "ssh.session_refused", connection.address, connection.username, reason
            )
        if self.chan is not None:
            self.chan.write_stderr((line + ("\r\n" if self.term else "\n")).encode())
            self.chan.exit(1)

    def _start_app(self) -> None:
        connection, config = self.connection, self.server.config
        env = dict(config.tui_env)
        for name in ("COLUMNS", "LINES", "SSH_TTY", "SSH_AUTH_SOCK", "DISPLAY"):
            env.pop(name, None)
        env.update(
            {
                "TERM": self.term or "xterm-256color",
                # The address the app's audit events carry, as sshd would say it.
                "SSH_CLIENT": f"{connection.address} {connection.port} {connection.local_port}",
                "SSH_CONNECTION": (
                    f"{connection.address} {connection.port} "
                    f"{connection.local_address} {connection.local_port}"
                ),
                served.STATUS_FD_ENV: str(STATUS_FD),
                served.LOGIN_TIMEOUT_ENV: f"{config.login_timeout:g}",
                served.IDLE_TIMEOUT_ENV: f"{config.idle_timeout:g}",
                # Only a name a person could type (served.py checks again): never a NUL.
                served.USERNAME_ENV: (
                    connection.username if _PLAIN_WORD.fullmatch(connection.username) else ""
                ),
            }
        )
        columns, rows = self.size
        try:
            self.process = TerminalProcess(
                config.tui_argv, env, columns, rows, self._output, self._exited, self._said
            )
        except (OSError, ValueError) as error:
            self.server.config.log(f"qmfa serve: could not start the app: {error}")
            self._refuse("qmfa serve: the app could not start; see the server's log.", "no app")
            return
        self.server.sessions.add(self)
        self.started_at = self.last_input = self.state_since = time.monotonic()
        self.server.config.log(
            f"qmfa serve: session from {connection.address} as {connection.username!r} "
            f"({len(self.server.sessions)} of {config.max_sessions})"
        )
        self.server.audit("ssh.session_opened", connection.address, connection.username)
        self._watch = asyncio.ensure_future(self._backstop())

    def _output(self, data: bytes) -> None:
        if self.chan is not None:
            self.chan.write(data)

    def _exited(self, code: int) -> None:
        connection = self.connection
        seconds = time.monotonic() - self.started_at
        self.server.sessions.discard(self)
        if self._watch is not None:
            self._watch.cancel()
        self.server.config.log(
            f"qmfa serve: session from {connection.address} as {connection.username!r} "
            f"ended after {seconds:.0f} s"
        )
        self.server.audit(
            "ssh.session_closed", connection.address, connection.username, f"{seconds:.0f} s"
        )
        if self.chan is None:
            return
        if code < 0:  # killed: it could not leave the client's terminal as it found it
            self.chan.write(TERMINAL_RESET)
        if self.goodbye:
            self.chan.write((self.goodbye + "\r\n").encode())
        with contextlib.suppress(Exception):
            self.chan.exit(max(code, 0) if not self.goodbye else 0)

    async def stop(self, goodbye: str) -> None:
        self.goodbye = goodbye
        if self.process is not None:
            await self.process.stop(STOP_GRACE_SECONDS)

    def _said(self, data: bytes) -> None:
        """A line from the app's status pipe: somebody logged in or out."""
        self._status += data
        while b"\n" in self._status:
            line, _, rest = bytes(self._status).partition(b"\n")
            self._status[:] = rest
            if line + b"\n" in (served.LOGGED_IN, served.LOGGED_OUT):
                self.logged_in = line + b"\n" == served.LOGGED_IN
                self.state_since = time.monotonic()
        del self._status[:-64]  # nothing the app says is longer

    async def _backstop(self) -> None:
        """End a session that overran the app's own limits (a hung or confused app)."""
        config = self.server.config
        grace = config.backstop_seconds
        while self.process is not None and self.process.running:
            await asyncio.sleep(max(0.5, min(5.0, grace / 4)))
            now = time.monotonic()
            if self.logged_in:
                overran = (
                    config.idle_timeout and now - self.last_input > config.idle_timeout + grace
                )
                reason = "the session was idle too long"
            else:
                overran = (
                    config.login_timeout and now - self.state_since > config.login_timeout + grace
                )
                reason = "nobody logged in in time"
            if overran:
                self.server.config.log(
                    f"qmfa serve: ended the session from {self.connection.address}: {reason}"
                )
                await self.stop(f"qmfa serve: {reason}; the session is closed.")
                return


def run(config: ServeConfig, on_ready: Callable[[str, int], None]) -> int:
    """Serve until SIGTERM or SIGINT; then close every session and return 0."""

    async def main() -> int:
        server = QmfaServer(config)
        host, port = await server.start()
        on_ready(host, port)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for number in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.add_signal_handler(number, stop.set)
        await stop.wait()
        config.log(
            f"qmfa serve: stopping; closing {len(server.sessions)} session"
            f"{'' if len(server.sessions) == 1 else 's'}"
        )
        await server.stop()
        return 0

    return asyncio.run(main())
