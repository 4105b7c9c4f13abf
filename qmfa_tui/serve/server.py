"""`qmfa serve`: an SSH server whose only program is the qmfa app.

Each SSH session that asks for a terminal gets its own qmfa TUI process on a pty,
running as the server's account; everything else an SSH client may ask for (a command,
a shell without a terminal, sftp or another subsystem, port, agent or X11 forwarding)
is refused with one line. Authentication is qmfa's own, in the app: SSH-level
authentication is "none", or a public key from an authorized_keys file.

Everything a stranger can send is bounded before anyone has logged in: new connections
per address (a token bucket, decided at TCP accept, before the version line and so
before any key exchange), connections not yet at the app (sshd's MaxStartups and
PerSourceMaxStartups, and a login grace), one session per connection, the window size,
the input waiting for the app (the channel stops reading), each app's address space.
Refusals are counted per address and audited once per interval, never a row each.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import random
import re
import signal
import sys
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import asyncssh
from asyncssh.encryption import get_encryption_algs
from asyncssh.kex import get_kex_algs
from asyncssh.mac import get_mac_algs

from qmfa_tui import served_limits
from qmfa_tui.serve.terminal import STATUS_FD, TerminalProcess

# The app closes a session at its login or idle timeout; the server ends one that overran
# either by this much, as a backstop (the app tells it when somebody logs in and out).
BACKSTOP_SECONDS = 30.0
STOP_GRACE_SECONDS = 5.0  # SIGTERM, then SIGKILL
RATE_WINDOW_SECONDS = 60.0
# One session per connection: once it has ended, the connection is closed this long
# after (a client leaves by itself at once; this is for those that stay).
AFTER_SESSION_SECONDS = 5.0
MIB = 1024 * 1024
# The SSH channel's receive window: what a client may send before the app takes it.
CHANNEL_WINDOW = 256 * 1024
# Addresses whose refusals get a row of their own in one audit interval; the rest share one.
AUDITED_ADDRESSES = 100
# Textual's terminal modes, left on when the app could not leave them itself (killed):
# main screen, cursor shown, no mouse reports, no bracketed paste, no focus events,
# the keyboard protocol popped, plain colours.
TERMINAL_RESET = (
    b"\x1b[?1049l\x1b[?25h\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1006l\x1b[?1015l"
    b"\x1b[?2004l\x1b[?1004l\x1b[<u\x1b[0m"
)

# What is offered by default: no SHA-1, no finite-field or NIST-curve key exchange, AEAD
# ciphers, encrypt-then-MAC SHA-2 (unused with those ciphers, but negotiated all the same).
# The host key, ed25519, is the only host key algorithm offered.
DEFAULT_KEX_ALGS = ("mlkem768x25519-sha256", "curve25519-sha256", "curve25519-sha256@libssh.org")
DEFAULT_ENCRYPTION_ALGS = (
    "chacha20-poly1305@openssh.com",
    "aes256-gcm@openssh.com",
    "aes128-gcm@openssh.com",
)
DEFAULT_MAC_ALGS = ("hmac-sha2-256-etm@openssh.com", "hmac-sha2-512-etm@openssh.com")

_PLAIN_WORD = re.compile(r"[A-Za-z0-9._@+-]{1,64}")

REFUSE_EXEC = "qmfa serve: no commands here, only the qmfa app: connect with plain `ssh`."
REFUSE_NO_TERMINAL = "qmfa serve: the qmfa app needs a terminal: connect without -T, or with -t."
REFUSE_SUBSYSTEM = "qmfa serve: no sftp or other subsystem here, only the qmfa app."
REFUSE_FORWARDING = "qmfa serve: no port forwarding here, only the qmfa app."
REFUSE_EXTRA_SESSION = "qmfa serve: one session per connection."
REFUSE_TOO_MANY_REFUSED = "qmfa serve: too many refused requests from your address; goodbye."


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
    # New connections from one address before key exchange: at most this many at once,
    # then connections_per_minute (a token bucket). Refused requests take one too.
    connection_burst: int = 10
    # From accepting a connection to its session's app started (sshd's LoginGraceTime).
    login_grace: float = 30.0
    # Connections not yet at the app (sshd's MaxStartups start:rate:full): from ``start``
    # on, a new one is dropped with probability ``rate`` %, rising to 100 % at ``full``.
    max_startups: tuple[int, int, int] = (10, 30, 100)
    startups_per_address: int = 4  # sshd's PerSourceMaxStartups
    max_window: tuple[int, int] = (1000, 500)  # columns, rows
    input_buffer: int = 64 * 1024  # bytes the app has not taken yet, before reading pauses
    app_memory_mib: int = 1024  # each app's address space (RLIMIT_AS)
    audit_interval: float = 60.0  # refusals are written per address once in this long
    kex_algs: Sequence[str] = DEFAULT_KEX_ALGS
    encryption_algs: Sequence[str] = DEFAULT_ENCRYPTION_ALGS
    mac_algs: Sequence[str] = DEFAULT_MAC_ALGS
    backstop_seconds: float = BACKSTOP_SECONDS
    tui_argv: Sequence[str] = (sys.executable, "-m", "qmfa_tui")
    # Writes an audit event: (action, client address, SSH username, detail).
    audit: Callable[[str, str, str, str], None] | None = None
    log: Callable[[str], None] = field(default=lambda line: print(line, file=sys.stderr))


def address_key(address: str) -> str:
    """What the limits count by: the address, or its /64 for IPv6 (one host has a /64)."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.IPv6Network((parsed, 64), strict=False))
    return str(parsed)


def available_kex_algs(wanted: Sequence[str]) -> list[str]:
    """``wanted`` less what this asyncssh cannot do (ML-KEM needs a recent cryptography)."""
    known = {alg.decode("ascii") for alg in get_kex_algs()}
    return [alg for alg in wanted if alg in known]


def known_algorithms() -> dict[str, list[bytes]]:
    """What this asyncssh can offer, for checking an operator's lists."""
    return {"kex": get_kex_algs(), "encryption": get_encryption_algs(), "mac": get_mac_algs()}


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


class ConnectionBurst:
    """A token bucket per address: ``burst`` at once, refilled at ``per_minute``."""

    def __init__(self, burst: int, per_minute: int) -> None:
        self.burst = burst
        self.per_second = per_minute / 60.0
        self._buckets: dict[str, tuple[float, float]] = {}  # address: tokens, when

    def _tokens(self, address: str, now: float) -> float:
        tokens, when = self._buckets.get(address, (float(self.burst), now))
        return min(float(self.burst), tokens + (now - when) * self.per_second)

    def take(self, address: str, now: float) -> bool:
        """One token for ``address`` if it has one left."""
        if len(self._buckets) > 10_000:  # forget the addresses whose bucket is full again
            for full in [a for a in self._buckets if self._tokens(a, now) >= self.burst]:
                del self._buckets[full]
        tokens = self._tokens(address, now)
        if tokens < 1:
            self._buckets[address] = (tokens, now)
            return False
        self._buckets[address] = (tokens - 1, now)
        return True


class Startups:
    """Connections accepted whose app has not started yet, in all and per address."""

    def __init__(
        self,
        start: int,
        rate: int,
        full: int,
        per_address: int,
        chance: Callable[[], float] = random.random,
    ) -> None:
        self.start, self.rate, self.full = start, rate, full
        self.per_address = per_address
        self.chance = chance
        self.total = 0
        self._by_address: Counter[str] = Counter()

    def admit(self, address: str) -> str | None:
        """Count a new connection from ``address`` as starting, or why it is dropped."""
        if self._by_address[address] >= self.per_address:
            return "too many connections from one address"
        if self.total >= self.full:
            return "too many connections"
        if self.total >= self.start:
            span = max(self.full - self.start, 1)
            drop = self.rate + (100 - self.rate) * (self.total - self.start) / span
            if self.chance() * 100 < drop:
                return "too many connections"
        self.total += 1
        self._by_address[address] += 1
        return None

    def done(self, address: str) -> None:
        """A connection counted by ``admit`` started its app, or closed."""
        self.total -= 1
        self._by_address[address] -= 1
        if self._by_address[address] <= 0:
            del self._by_address[address]


class Refusals:
    """Refusals counted per address and reason, taken as one line each per interval."""

    def __init__(self, max_addresses: int = AUDITED_ADDRESSES) -> None:
        self.max_addresses = max_addresses
        self._counts: dict[str, Counter[str]] = {}
        self._usernames: dict[str, str] = {}

    def note(self, address: str, reason: str, username: str = "") -> bool:
        """Count one; True if it is the address's first in this interval."""
        if address not in self._counts and len(self._counts) >= self.max_addresses:
            address = "other addresses"
        first = address not in self._counts
        self._counts.setdefault(address, Counter())[reason] += 1
        if username:
            self._usernames[address] = username
        return first

    def take(self) -> list[tuple[str, str, str]]:
        """(address, an SSH username it gave, "N refused: n reason, ...") for each address
        since the last take; the counts start again."""
        lines = []
        for address, reasons in self._counts.items():
            said = ", ".join(f"{count} {reason}" for reason, count in reasons.most_common())
            lines.append(
                (address, self._usernames.get(address, ""), f"{reasons.total()} refused: {said}")
            )
        self._counts.clear()
        self._usernames.clear()
        return lines


class QmfaServer:
    """The listener, its sessions and their limits."""

    def __init__(self, config: ServeConfig) -> None:
        self.config = config
        self.sessions: set[TuiSession] = set()
        self.rate = RateLimit(config.connections_per_minute)
        self.burst = ConnectionBurst(config.connection_burst, config.connections_per_minute)
        self.startups = Startups(*config.max_startups, config.startups_per_address)
        self.refusals = Refusals()
        self._acceptor: asyncssh.SSHAcceptor | None = None
        self._audit_thread = ThreadPoolExecutor(1, thread_name_prefix="qmfa-serve-audit")
        self._audit_tasks: set[asyncio.Future[None]] = set()
        self._audit_timer: asyncio.TimerHandle | None = None
        self.stopping = False

    async def start(self) -> tuple[str, int]:
        """Listen; the address and port listened on (port 0 asks the system for one)."""
        logging.getLogger("asyncssh").setLevel(logging.WARNING)
        config = self.config
        self._acceptor = await asyncssh.listen(
            config.host,
            config.port,
            server_factory=lambda: _Connection(self),
            server_host_keys=[config.host_key],
            kex_algs=available_kex_algs(config.kex_algs),
            encryption_algs=list(config.encryption_algs),
            mac_algs=list(config.mac_algs),
            authorized_client_keys=(
                str(config.authorized_keys) if config.authorized_keys is not None else None
            ),
            encoding=None,
            line_editor=False,
            agent_forwarding=False,
            x11_forwarding=False,
            allow_scp=False,
            window=CHANNEL_WINDOW,
            login_timeout=config.login_grace,
            keepalive_interval=30,
            keepalive_count_max=4,
        )
        self._audit_timer = asyncio.get_running_loop().call_later(
            config.audit_interval, self._audit_refusals_every_interval
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
        if self._audit_timer is not None:
            self._audit_timer.cancel()
        self._audit_refusals()
        if self._audit_tasks:
            await asyncio.wait(self._audit_tasks)
        self._audit_thread.shutdown(wait=True)

    def admit(self, connection: _Connection) -> str | None:
        """Before key exchange: why a new connection is dropped, or None (it then counts
        among the startups until its app starts)."""
        key = address_key(connection.address)
        if not self.burst.take(key, time.monotonic()):
            return "over the connection rate"
        return self.startups.admit(key)

    def refused(self, connection: _Connection, reason: str, *, charge: bool = True) -> None:
        """Count a refusal for the audit; ``charge`` takes a token from the address's
        bucket, and a connection whose address has none left is closed."""
        if self.refusals.note(connection.address, reason, connection.username):
            # The first in an interval; the audit line at its end has them all.
            self.config.log(f"qmfa serve: refused {connection.address}: {reason}")
        if charge and not self.burst.take(address_key(connection.address), time.monotonic()):
            connection.close(REFUSE_TOO_MANY_REFUSED)

    def _audit_refusals_every_interval(self) -> None:
        self._audit_refusals()
        self._audit_timer = asyncio.get_running_loop().call_later(
            self.config.audit_interval, self._audit_refusals_every_interval
        )

    def _audit_refusals(self) -> None:
        for address, username, detail in self.refusals.take():
            self.config.log(f"qmfa serve: {address}: {detail}")
            self.audit("ssh.refused", address, username, detail)

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
        self.starting = False  # among the server's startups (its app has not started)
        self.session_opened = False
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self.conn = conn
        peer = conn.get_extra_info("peername") or ("?", 0)
        local = conn.get_extra_info("sockname") or ("?", 0)
        self.address, self.port = str(peer[0]), int(peer[1])
        self.local_address, self.local_port = str(local[0]), int(local[1])
        server = self.server
        dropped = server.admit(self)
        if dropped is not None:
            # Before asyncssh sends its version: no key exchange is done for it.
            server.refused(self, dropped, charge=False)
            conn.abort()
            return
        self.starting = True
        if not server.rate.allow(address_key(self.address), time.monotonic()):
            self.refusal = (
                f"qmfa serve: more than {server.config.connections_per_minute} connections "
                "from your address within a minute; wait a minute."
            )
        self._timer = asyncio.get_running_loop().call_later(
            server.config.login_grace, self._grace_over
        )

    def connection_lost(self, exc: Exception | None) -> None:
        self._no_longer_starting()
        if self._timer is not None:
            self._timer.cancel()
        self.conn = None

    def _no_longer_starting(self) -> None:
        if self.starting:
            self.starting = False
            self.server.startups.done(address_key(self.address))

    def app_started(self) -> None:
        """The session reached the app: no longer a startup, no longer on the grace timer."""
        self._no_longer_starting()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _grace_over(self) -> None:
        self._timer = None
        if self.conn is not None and self.starting:
            self.server.refused(self, "no session in time", charge=False)
            grace = self.server.config.login_grace
            self.close(f"qmfa serve: no session was started within {grace:g} s; goodbye.")

    def close(self, reason: str) -> None:
        """Disconnect, saying ``reason`` (soon: never from inside asyncssh's handlers)."""
        if self.conn is not None:
            asyncio.get_running_loop().call_soon(self._disconnect, reason)

    def _disconnect(self, reason: str) -> None:
        if self.conn is not None:
            self.conn.disconnect(asyncssh.DISC_BY_APPLICATION, reason)

    def session_closed(self) -> None:
        """Its one session ended: nothing else may happen on this connection."""
        if self._timer is not None:
            self._timer.cancel()
        self._timer = asyncio.get_running_loop().call_later(
            AFTER_SESSION_SECONDS, self.close, "qmfa serve: the session has ended; goodbye."
        )

    def begin_auth(self, username: str) -> bool:
        self.username = username
        if self.refusal is not None:
            self.server.refused(self, "over the per-minute limit", charge=False)
            raise asyncssh.DisconnectError(asyncssh.DISC_TOO_MANY_CONNECTIONS, self.refusal)
        return self.server.config.authorized_keys is not None

    def session_requested(self) -> TuiSession:
        if self.session_opened:
            self.server.refused(self, "an extra session")
            raise asyncssh.ChannelOpenError(
                asyncssh.OPEN_ADMINISTRATIVELY_PROHIBITED, REFUSE_EXTRA_SESSION
            )
        self.session_opened = True
        return TuiSession(self)

    def connection_requested(
        self, dest_host: str, dest_port: int, orig_host: str, orig_port: int
    ) -> bool:
        self.server.refused(self, "forwarding")
        raise asyncssh.ChannelOpenError(
            asyncssh.OPEN_ADMINISTRATIVELY_PROHIBITED, REFUSE_FORWARDING
        )

    def unix_connection_requested(self, dest_path: str) -> bool:
        self.server.refused(self, "forwarding")
        raise asyncssh.ChannelOpenError(
            asyncssh.OPEN_ADMINISTRATIVELY_PROHIBITED, REFUSE_FORWARDING
        )

    def server_requested(self, listen_host: str, listen_port: int) -> bool:
        self.server.refused(self, "forwarding")
        return False

    def unix_server_requested(self, listen_path: str) -> bool:
        self.server.refused(self, "forwarding")
        return False


class _NoEnvironment(dict[bytes, bytes]):
    """Where asyncssh keeps a client's environment requests: nothing is kept (the app is
    given none of it), so that endless requests grow nothing."""

    def __setitem__(self, key: bytes, value: bytes) -> None:
        pass


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
        self.logged_in = False  # as the app last said (served_limits.py's status pipe)
        self.state_since = 0.0
        self._clamp_logged = False
        self._input_paused = False
        self._status = bytearray()
        self._watch: asyncio.Task[None] | None = None
        self._hangup: asyncio.Future[None] | None = None

    # -- what the client asks for --------------------------------------------------------

    def connection_made(self, chan: asyncssh.SSHServerChannel[bytes]) -> None:
        self.chan = chan
        chan._env = _NoEnvironment()

    def pty_requested(
        self, term_type: str, term_size: tuple[int, int, int, int], term_modes: Mapping[int, int]
    ) -> bool:
        # Any text the client sent; the app's environment gets a plain terminal name.
        self.term = term_type if _PLAIN_WORD.fullmatch(term_type) else "xterm-256color"
        if term_size[0] and term_size[1]:
            self.size = self._clamped(term_size[0], term_size[1])
        return True

    def _clamped(self, columns: int, rows: int) -> tuple[int, int]:
        """At most the largest window a real terminal has (an app's memory grows with it)."""
        max_columns, max_rows = self.server.config.max_window
        clamped = (min(columns, max_columns), min(rows, max_rows))
        if clamped != (columns, rows) and not self._clamp_logged:
            self._clamp_logged = True
            self.server.config.log(
                f"qmfa serve: the window {columns}x{rows} from {self.connection.address} "
                f"is served as {clamped[0]}x{clamped[1]}"
            )
        return clamped

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
            self.size = self._clamped(width, height)
            if self.process is not None:
                self.process.resize(*self.size)

    def data_received(self, data: bytes, datatype: int | None) -> None:
        self.last_input = time.monotonic()
        if self.process is not None:
            self.process.write(data)
            # Read no more from the client than the app takes: the channel's window
            # then holds the client back, and nothing here grows with what it sends.
            if self.process.pending_input > self.server.config.input_buffer and self.chan:
                self._input_paused = True
                self.chan.pause_reading()

    def _input_drained(self) -> None:
        if self._input_paused and self.chan is not None:
            self._input_paused = False
            self.chan.resume_reading()

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
        if reason != "stopping":
            self.server.refused(self.connection, reason)
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
                served_limits.STATUS_FD_ENV: str(STATUS_FD),
                served_limits.LOGIN_TIMEOUT_ENV: f"{config.login_timeout:g}",
                served_limits.IDLE_TIMEOUT_ENV: f"{config.idle_timeout:g}",
                # Only a name a person could type (served_limits.py checks again): never a NUL.
                served_limits.USERNAME_ENV: (
                    connection.username if _PLAIN_WORD.fullmatch(connection.username) else ""
                ),
            }
        )
        columns, rows = self.size
        try:
            self.process = TerminalProcess(
                config.tui_argv,
                env,
                columns,
                rows,
                self._output,
                self._exited,
                self._said,
                memory_limit=config.app_memory_mib * MIB,
                on_input_drained=self._input_drained,
            )
        except (OSError, ValueError) as error:
            self.server.config.log(f"qmfa serve: could not start the app: {error}")
            self._refuse("qmfa serve: the app could not start; see the server's log.", "no app")
            return
        self.server.sessions.add(self)
        connection.app_started()
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
            if line + b"\n" in (served_limits.LOGGED_IN, served_limits.LOGGED_OUT):
                self.logged_in = line + b"\n" == served_limits.LOGGED_IN
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
