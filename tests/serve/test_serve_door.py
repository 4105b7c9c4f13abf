"""`qmfa serve` against strangers: what arrives before anyone logged in is bounded.

Attacks come from other loopback addresses (127.0.0.2 and up), bounded in count and
time, while the real OpenSSH client from 127.0.0.1 must still reach the login screen.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

import asyncssh
import pytest
from ssh_terminal import SSH

from qmfa_tui.serve import server
from qmfa_tui.serve.server import ConnectionBurst, Refusals, Startups, address_key
from qmfa_tui.serve.terminal import TerminalProcess
from serve.test_serve import qmfa, serve  # noqa: F401 (serve is a fixture)

T = TypeVar("T")
needs_ssh = pytest.mark.skipif(not Path(SSH).exists(), reason="needs the OpenSSH client")


# -- the limits on their own -------------------------------------------------------------


def test_startups_are_dropped_at_random_from_start_on_and_all_at_full():
    chances = iter([0.99, 0.10, 0.99])
    startups = Startups(start=2, rate=30, full=4, per_address=3, chance=lambda: next(chances))
    assert startups.admit("192.0.2.1") is None
    assert startups.admit("192.0.2.1") is None
    # From 2 on a new one is dropped with 30 %, at 3 with 65 % (half way), at 4 always.
    assert startups.admit("192.0.2.2") is None  # drawn 99
    assert startups.admit("192.0.2.3") == "too many connections"  # drawn 10 < 65
    assert startups.admit("192.0.2.4") is None  # drawn 99
    assert startups.admit("192.0.2.5") == "too many connections"  # full: nothing drawn
    assert startups.total == 4


def test_one_address_cannot_hold_more_than_its_share_of_the_startups():
    startups = Startups(start=10, rate=30, full=100, per_address=3, chance=lambda: 0.0)
    for _ in range(3):
        assert startups.admit("192.0.2.1") is None
    assert startups.admit("192.0.2.1") == "too many connections from one address"
    assert startups.admit("192.0.2.2") is None
    startups.done("192.0.2.1")  # one reached its app: its place is free
    assert startups.admit("192.0.2.1") is None


def test_the_connection_burst_refills_at_the_rate_per_minute():
    burst = ConnectionBurst(burst=3, per_minute=6)  # one every 10 s
    assert all(burst.take("192.0.2.1", 0.0) for _ in range(3))
    assert not burst.take("192.0.2.1", 0.0)
    assert not burst.take("192.0.2.1", 9.0)
    assert burst.take("192.0.2.1", 10.5)
    assert not burst.take("192.0.2.1", 11.0)
    assert burst.take("192.0.2.2", 11.0)


def test_ipv6_addresses_are_counted_by_their_64():
    assert address_key("2001:db8::1") == address_key("2001:db8::ffff:1") == "2001:db8::/64"
    assert address_key("2001:db8:0:1::1") != address_key("2001:db8::1")
    assert address_key("::ffff:192.0.2.1") == "192.0.2.1"
    assert address_key("192.0.2.1") == "192.0.2.1"


def test_refusals_are_one_line_per_address_with_their_counts():
    refusals = Refusals(max_addresses=2)
    assert refusals.note("192.0.2.1", "a command", "mallory")
    for _ in range(299):
        assert not refusals.note("192.0.2.1", "a command")
    refusals.note("192.0.2.1", "an extra session")
    refusals.note("192.0.2.2", "no terminal")
    refusals.note("192.0.2.3", "forwarding")  # past max_addresses: shares a line
    refusals.note("192.0.2.4", "forwarding")
    assert refusals.take() == [
        ("192.0.2.1", "mallory", "301 refused: 300 a command, 1 an extra session"),
        ("192.0.2.2", "", "1 refused: 1 no terminal"),
        ("other addresses", "", "2 refused: 2 forwarding"),
    ]
    assert refusals.take() == []


def test_the_cli_defaults_are_the_servers():
    from qmfa_tui.cli import serve as cli

    assert cli.DEFAULT_KEX_ALGS.split(",") == list(server.DEFAULT_KEX_ALGS)
    assert cli.DEFAULT_CIPHERS.split(",") == list(server.DEFAULT_ENCRYPTION_ALGS)
    assert cli.DEFAULT_MACS.split(",") == list(server.DEFAULT_MAC_ALGS)


# -- the pty -------------------------------------------------------------------------------


async def _spawn(
    script: str, **options: Any
) -> tuple[TerminalProcess, bytearray, asyncio.Future[int]]:
    exited: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    output = bytearray()
    process = TerminalProcess(
        ["/bin/sh", "-c", script],
        {"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        80,
        24,
        output.extend,
        exited.set_result,
        **options,
    )
    return process, output, exited


async def test_typed_ahead_bytes_are_not_echoed_before_the_program_reads_them():
    process, output, exited = await _spawn('sleep 1; read -r line; echo "read ${#line}"')
    process.write(b"secretpw\r")
    await asyncio.wait_for(exited, 60)
    assert b"read 8" in output
    assert b"secretpw" not in output


async def test_the_program_gets_the_address_space_limit():
    _, output, exited = await _spawn("sleep 0.5; ulimit -v", memory_limit=300 * 1024 * 1024)
    await asyncio.wait_for(exited, 60)
    assert output.split() == [b"307200"]  # KiB


# -- one server in a thread, clients on its loop ------------------------------------------


@contextlib.contextmanager
def running(config: server.ServeConfig) -> Iterator[tuple[server.QmfaServer, int, Runner]]:
    """The server on an event loop of its own in a thread; clients run there too."""
    loop = asyncio.new_event_loop()
    serving = server.QmfaServer(config)
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    runner = Runner(loop)
    port = runner(serving.start())[1]
    try:
        yield serving, port, runner
    finally:
        runner(serving.stop())
        loop.call_soon_threadsafe(loop.stop)
        thread.join(60)
        loop.close()


class Runner:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop

    def __call__(self, coroutine: Awaitable[T], timeout: float = 120) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)  # type: ignore[arg-type]


def _config(script: str, **changes: Any) -> server.ServeConfig:
    return server.ServeConfig(
        host="127.0.0.1",
        port=0,
        host_key=asyncssh.generate_private_key("ssh-ed25519"),
        tui_env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        tui_argv=["/bin/sh", "-c", script],
        **{"log": lambda line: None, **changes},
    )


async def connect(port: int, source: str = "127.0.0.1", **options: Any) -> Any:
    return await asyncssh.connect(
        "127.0.0.1",
        port,
        local_addr=(source, 0),
        known_hosts=None,
        username="mallory",
        client_keys=None,
        agent_path=None,
        config=None,
        **options,
    )


def test_a_window_larger_than_a_terminal_is_served_at_the_largest_size():
    logged: list[str] = []
    script = "stty size; trap 'stty size' WINCH; echo ready; while :; do sleep 0.1; done"
    with running(_config(script, max_window=(1000, 500), log=logged.append)) as (_, port, run):

        async def huge_windows() -> bytes:
            async with await connect(port) as conn:
                process = await conn.create_process(term_type="xterm", term_size=(30000, 30000))
                seen = b""
                while b"ready" not in seen:
                    seen += (await process.stdout.read(1024)).encode()
                process.change_terminal_size(70000, 400)  # over what a pty holds
                while b"400 1000" not in seen:
                    seen += (await asyncio.wait_for(process.stdout.read(1024), 60)).encode()
                return seen

        seen = run(huge_windows())
    assert b"500 1000" in seen and b"400 1000" in seen
    assert [line for line in logged if "is served as 1000x500" in line] == [
        "qmfa serve: the window 30000x30000 from 127.0.0.1 is served as 1000x500"
    ]


def test_input_is_read_only_as_fast_as_the_app_takes_it():
    script = "stty raw -echo; echo ready; sleep 3; cat > /dev/null"
    with running(_config(script, input_buffer=64 * 1024)) as (serving, port, run):
        largest: list[int] = [0]

        def watch() -> None:
            for session in list(serving.sessions):
                if session.process is not None:
                    largest[0] = max(largest[0], session.process.pending_input)

        async def flood() -> None:
            async with await connect(port) as conn:
                process = await conn.create_process(
                    term_type="xterm", term_size=(80, 24), encoding=None
                )
                seen = b""
                while b"ready" not in seen:
                    seen += await process.stdout.read(1024)
                process.stdin.write(b"\x1b[I" * (4 * 1024 * 1024 // 3))
                deadline = time.monotonic() + 2
                while time.monotonic() < deadline:
                    watch()
                    await asyncio.sleep(0.05)
                await asyncio.wait_for(process.stdin.drain(), 120)  # all of it went in

        run(flood())
    assert 0 < largest[0] <= 64 * 1024 + 32 * 1024  # the bound and one SSH packet


def test_environment_requests_are_not_kept():
    script = "echo ready; sleep 60"
    with running(_config(script)) as (serving, port, run):

        async def many_variables() -> int:
            environment = {f"V{number}": "x" * 1000 for number in range(3000)}
            async with await connect(port) as conn:
                process = await conn.create_process(
                    term_type="xterm", term_size=(80, 24), env=environment
                )
                while "ready" not in await process.stdout.read(1024):
                    pass
                [session] = serving.sessions
                assert session.chan is not None
                return len(session.chan.get_environment())

        assert run(many_variables()) == 0


def test_a_session_without_a_terminal_is_refused_and_its_connection_closed():
    with running(_config("echo app", login_grace=120)) as (_, port, run):

        async def without_a_terminal() -> tuple[int | None, bool]:
            conn = await connect(port)
            process = await conn.create_process()  # a shell, no pty
            await asyncio.wait_for(process.wait_closed(), 60)
            closed = asyncio.ensure_future(conn.wait_closed())
            done, _ = await asyncio.wait([closed], timeout=60)
            conn.abort()
            return process.exit_status, bool(done)

        status, closed = run(without_a_terminal())
    assert status == 1
    assert closed  # by the server, long before the login grace


def test_a_socket_that_never_says_anything_is_closed_after_the_login_grace():
    with (
        running(_config("echo app", login_grace=1)) as (_, port, _run),
        socket.create_connection(("127.0.0.1", port), timeout=60) as sock,
    ):
        received = b""
        while chunk := sock.recv(4096):
            received += chunk
        assert received.startswith(b"SSH-2.0-")  # then nothing more: closed


def test_a_session_at_its_app_no_longer_counts_among_the_startups():
    script = "echo ready; sleep 60"
    config = _config(script, startups_per_address=1, login_grace=120)
    with running(config) as (serving, port, run):

        async def one_then_another() -> list[str]:
            started, conns = [], []
            for _ in range(2):  # one startup at a time from this address: in turn, both
                conns.append(await connect(port))
                process = await conns[-1].create_process(term_type="xterm", term_size=(80, 24))
                started.append(await asyncio.wait_for(process.stdout.readline(), 60))
            assert len(serving.sessions) == 2 and serving.startups.total == 0
            for conn in conns:
                conn.abort()
            return started

        assert run(one_then_another()) == ["ready\r\n", "ready\r\n"]


def test_the_server_offers_only_modern_algorithms(tmp_path):
    with (
        running(_config("echo app")) as (_, port, _run),
        socket.create_connection(("127.0.0.1", port), timeout=30) as sock,
    ):
        sock.sendall(b"SSH-2.0-probe\r\n")
        received = b""
        while b"\n" not in received:
            received += sock.recv(4096)
        banner, _, received = received.partition(b"\n")
        assert banner.startswith(b"SSH-2.0-")
        while len(received) < 4 or len(received) < 4 + struct.unpack(">I", received[:4])[0]:
            received += sock.recv(4096)
    lists = _kexinit_lists(received)
    kex, host_keys, cipher, _, mac, _ = lists[:6]
    assert set(kex) <= {
        "mlkem768x25519-sha256",
        "curve25519-sha256",
        "curve25519-sha256@libssh.org",
        "ext-info-s",
        "kex-strict-s-v00@openssh.com",
    }
    assert "curve25519-sha256" in kex
    assert host_keys == ["ssh-ed25519"]
    assert cipher == list(server.DEFAULT_ENCRYPTION_ALGS)
    assert mac == list(server.DEFAULT_MAC_ALGS)
    assert not [alg for alg in kex + cipher + mac if "sha1" in alg or "nistp" in alg]


def _kexinit_lists(packet: bytes) -> list[list[str]]:
    """The ten name-lists of an unencrypted SSH_MSG_KEXINIT packet."""
    payload = packet[5:]
    assert payload[0] == 20  # SSH_MSG_KEXINIT
    offset, lists = 17, []
    for _ in range(10):
        (length,) = struct.unpack(">I", payload[offset : offset + 4])
        lists.append(payload[offset + 4 : offset + 4 + length].decode().split(","))
        offset += 4 + length
    return lists


def test_asyncssh_with_old_algorithms_only_is_refused():
    with running(_config("echo app")) as (_, port, run):

        async def old(**algorithms: Any) -> str:
            try:
                async with await connect(port, **algorithms):
                    return "connected"
            except asyncssh.Error as error:
                return type(error).__name__

        for algorithms in (
            {"kex_algs": ["diffie-hellman-group14-sha1"]},
            {"kex_algs": ["ecdh-sha2-nistp256"]},
            {"kex_algs": ["diffie-hellman-group-exchange-sha1"]},
            {"encryption_algs": ["aes128-ctr"], "mac_algs": ["hmac-sha1"]},
        ):
            assert run(old(**algorithms)) == "KeyExchangeFailed", algorithms

        async def modern() -> tuple[str, str]:
            async with await connect(port) as conn:
                return conn.get_extra_info("send_cipher"), conn.get_extra_info("recv_cipher")

        assert set(run(modern())) <= set(server.DEFAULT_ENCRYPTION_ALGS)


def test_new_connections_from_one_address_are_dropped_before_the_key_exchange():
    """A burst of connections (DHEat): past the burst, no version line, no key exchange."""
    config = _config(
        "echo app", connection_burst=5, connections_per_minute=1, startups_per_address=100
    )
    with running(config) as (_, port, _run):
        banners = 0
        for _ in range(30):
            with socket.socket() as sock:
                sock.bind(("127.0.0.6", 0))
                sock.settimeout(30)
                sock.connect(("127.0.0.1", port))
                if sock.recv(64).startswith(b"SSH-2.0-"):
                    banners += 1
        assert banners <= 6  # the burst, and one more if a token came back meanwhile
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            assert sock.recv(64).startswith(b"SSH-2.0-")  # another address is served


# -- the real `qmfa serve` and the real `ssh` ---------------------------------------------


class Attacks:
    """Clients on an event loop of their own in a thread, held until ``stop``."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.running: list[Future[Any]] = []

    def start(self, attack: Callable[..., Coroutine[Any, Any, Any]], *args: Any) -> None:
        self.running.append(
            asyncio.run_coroutine_threadsafe(attack(*args, self.stopping), self.loop)
        )

    def stop(self) -> list[Any]:
        self.stopping.set()
        results = [future.result(120) for future in self.running]
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(60)
        self.loop.close()
        return results


async def _hold(stopping: threading.Event) -> None:
    deadline = time.monotonic() + 120
    while not stopping.is_set() and time.monotonic() < deadline:
        await asyncio.sleep(0.1)


async def sessions_without_a_terminal(
    port: int, source: str, count: int, stopping: threading.Event
) -> int:
    """``count`` connections, each with a session asking for no terminal, held; how many
    of them the server had not closed within a minute."""
    held = []
    for _ in range(count):
        try:
            conn = await connect(port, source)
            await conn.create_session(asyncssh.SSHClientSession)
        except (OSError, asyncssh.Error):
            continue
        held.append((conn, asyncio.ensure_future(conn.wait_closed())))
    if held:
        await asyncio.wait([closed for _, closed in held], timeout=60)
    still_open = sum(1 for _, closed in held if not closed.done())
    for conn, _ in held:
        conn.abort()
    return still_open


async def many_sessions_on_one_connection(
    port: int, source: str, count: int, stopping: threading.Event
) -> tuple[int, int]:
    """One connection asking for ``count`` sessions with a terminal: (opened, refused)."""
    opened = refused = 0
    conn = await connect(port, source)
    for _ in range(count):
        try:
            await conn.create_session(
                asyncssh.SSHClientSession, term_type="xterm", term_size=(80, 24)
            )
            opened += 1
        except asyncssh.ChannelOpenError:
            refused += 1
        except (OSError, asyncssh.Error):
            break  # the server closed the connection
    await _hold(stopping)
    conn.abort()
    return opened, refused


def idle_sockets(port: int, source: str, count: int) -> list[socket.socket]:
    sockets = []
    for _ in range(count):
        sock = socket.socket()
        sock.bind((source, 0))
        sock.connect(("127.0.0.1", port))
        sockets.append(sock)
    return sockets


def answered(sock: socket.socket) -> bool:
    """Whether the server sent its version line (False: it closed the socket unanswered)."""
    sock.settimeout(30)
    try:
        return sock.recv(64).startswith(b"SSH-2.0-")
    except OSError:
        return False


@needs_ssh
@pytest.mark.slow
def test_a_real_ssh_logs_in_while_other_addresses_hold_the_door(serve):  # noqa: F811
    served = serve()  # the defaults: 16 sessions, 4 startups per address, a burst of 10
    sockets = idle_sockets(served.port, "127.0.0.2", 41)
    attacks = Attacks()
    try:
        attacks.start(sessions_without_a_terminal, served.port, "127.0.0.3", 40)
        attacks.start(many_sessions_on_one_connection, served.port, "127.0.0.4", 18)
        time.sleep(3)
        with served.ssh() as terminal:
            terminal.expect("Log in to qmfa")
            apps = served.apps()
            assert 1 <= len(apps) <= 2  # this one, and one for 127.0.0.4
            limits = Path(f"/proc/{max(apps)}/limits").read_text()  # the newest: this one
            assert any(
                line.startswith("Max address space") and "1073741824" in line
                for line in limits.splitlines()
            )
    finally:
        still_open, (opened, refused) = attacks.stop()
        answers = [answered(sock) for sock in sockets]
        for sock in sockets:
            sock.close()
    assert sum(answers) <= 4  # the rest were closed before the key exchange
    assert still_open == 0  # each pty-less session's connection was closed
    assert opened == 1 and refused >= 1
    assert served.stop() == 0
    refused_rows = [e for e in served.audit() if "refused" in e["action"]]
    by_origin = Counter(e["origin"].rsplit(" ", 1)[1] for e in refused_rows)
    assert set(by_origin) == {"127.0.0.2", "127.0.0.3", "127.0.0.4"}
    assert max(by_origin.values()) <= 2  # a row per address a minute, and one at the stop


async def exec_flood(port: int, source: str, count: int, stopping: threading.Event) -> int:
    """``count`` commands asked for, connecting again whenever closed; how many the server
    answered with a refusal of any kind."""
    refusals = 0
    conn = None
    for _ in range(count):
        try:
            if conn is None:
                conn = await connect(port, source)
            result = await conn.run("ls /")
            refusals += result.exit_status == 1
        except asyncssh.ChannelOpenError:
            refusals += 1
        except (OSError, asyncssh.Error):
            refusals += 1
            if conn is not None:
                conn.abort()
            conn = None
    if conn is not None:
        conn.abort()
    return refusals


@needs_ssh
@pytest.mark.slow
def test_a_flood_of_refused_requests_is_a_row_or_two_of_audit(serve):  # noqa: F811
    served = serve()
    attacks = Attacks()
    attacks.start(exec_flood, served.port, "127.0.0.5", 300)
    [refusals] = attacks.stop()
    assert refusals == 300
    assert served.stop() == 0
    rows = [e for e in served.audit() if "refused" in e["action"]]
    assert 1 <= len(rows) <= 2
    assert all(e["action"] == "ssh.refused" for e in rows)
    assert all(e["origin"].endswith(" from 127.0.0.5") for e in rows)
    counted = sum(int(e["detail"].split(" refused: ")[0].rsplit(" ", 1)[1]) for e in rows)
    assert counted >= 10  # the first command, the extra sessions, the dropped connections


@needs_ssh
@pytest.mark.slow
def test_the_real_ssh_with_sha1_key_exchange_or_macs_is_refused(serve):  # noqa: F811
    served = serve()
    sha1 = served.run_ssh(["-T", "-o", "KexAlgorithms=diffie-hellman-group14-sha1"])
    assert "no matching key exchange method found" in sha1.stderr
    old = served.run_ssh(["-T", "-o", "Ciphers=aes128-ctr", "-o", "MACs=hmac-sha1"])
    assert "no matching cipher found" in old.stderr
    modern = served.run_ssh(["-T"])
    assert server.REFUSE_NO_TERMINAL in modern.stderr  # connected, then refused in words


@needs_ssh
@pytest.mark.slow
def test_an_operator_may_widen_the_key_exchange(serve):  # noqa: F811
    served = serve("--kex-algs", "+diffie-hellman-group14-sha256")
    older = served.run_ssh(["-T", "-o", "KexAlgorithms=diffie-hellman-group14-sha256"])
    assert server.REFUSE_NO_TERMINAL in older.stderr
    modern = served.run_ssh(["-T", "-o", "KexAlgorithms=curve25519-sha256"])
    assert server.REFUSE_NO_TERMINAL in modern.stderr  # the defaults are still there
    sha1 = served.run_ssh(["-T", "-o", "KexAlgorithms=diffie-hellman-group14-sha1"])
    assert "no matching key exchange method found" in sha1.stderr


def test_algorithm_lists_edit_the_defaults_as_openssh_does():
    from qmfa_tui.cli.common import UsageError
    from qmfa_tui.cli.serve import DEFAULT_MACS, _algorithms

    known = server.known_algorithms()["mac"]
    defaults = DEFAULT_MACS.split(",")
    assert _algorithms("--macs", DEFAULT_MACS, DEFAULT_MACS, known) == defaults
    assert _algorithms("--macs", "+hmac-sha2-256", DEFAULT_MACS, known) == [
        *defaults,
        "hmac-sha2-256",
    ]
    assert _algorithms("--macs", "-hmac-sha2-512-etm@openssh.com", DEFAULT_MACS, known) == [
        "hmac-sha2-256-etm@openssh.com"
    ]
    assert _algorithms("--macs", "^hmac-sha2-512-etm@openssh.com", DEFAULT_MACS, known) == [
        "hmac-sha2-512-etm@openssh.com",
        "hmac-sha2-256-etm@openssh.com",
    ]
    assert _algorithms("--macs", "hmac-sha1", DEFAULT_MACS, known) == ["hmac-sha1"]
    for nonsense in ("hmac-nope", "+hmac-nope", f"-{DEFAULT_MACS}", ","):
        with pytest.raises(UsageError, match="--macs"):
            _algorithms("--macs", nonsense, DEFAULT_MACS, known)


def test_an_unknown_algorithm_is_one_line_and_exit_2(tmp_path):
    url = f"sqlite:///{tmp_path}/x.db"
    made = qmfa("demo", "--users", "1", "--no-launch", "--database", url)
    assert made.returncode == 0, made.stderr
    bad = qmfa("serve", "--database", url, "--listen", "127.0.0.1:0", "--macs", "hmac-nope")
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines()[-1].startswith("qmfa: --macs 'hmac-nope': unknown")


def test_the_limits_are_settings_and_nonsense_is_refused(capsys):
    from qmfa_tui.cli import build_parser

    parser = build_parser()
    given = parser.parse_args(
        [
            *("serve", "--max-startups", "5:50:20", "--startups-per-address", "2"),
            *("--max-window", "300x100", "--login-grace", "10", "--connection-burst", "3"),
            *("--app-memory", "600"),
        ]
    )
    assert (given.max_startups, given.startups_per_address, given.max_window) == (
        (5, 50, 20),
        2,
        (300, 100),
    )
    assert (given.login_grace, given.connection_burst, given.app_memory) == (10.0, 3, 600)
    for bad in (
        ["--max-startups", "20:30:10"],
        ["--max-startups", "10:130:100"],
        ["--max-window", "70000x500"],
        ["--login-grace", "0"],
    ):
        with pytest.raises(SystemExit) as exited:
            parser.parse_args(["serve", *bad])
        assert exited.value.code == 2
        assert len(capsys.readouterr().err.strip().splitlines()) == 1
