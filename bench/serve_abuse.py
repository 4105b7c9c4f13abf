"""`qmfa serve` under attack from other addresses while a person logs in with `ssh`.

    python bench/serve_abuse.py              # each attack for --seconds (15)

Prints numbers and exits 0 (not a test). One `qmfa serve` (its default limits) on a demo
database in a temp dir; each attack runs from its own loopback address (127.0.0.2 to
127.0.0.9), bounded in count and time, while the real OpenSSH client from 127.0.0.1
logs in as admin every few seconds: the password (timed to the code screen), then the
code from `qmfa demo codes` when its 30-s step is not spent yet (a code is single-use).
For each attack: the legitimate logins (how many succeeded, p95 time), `qmfa serve`'s
largest RSS, the largest app RSS, the audit rows about the attacking address, and the
files that appeared under the server's home, data and temp directories.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import asyncssh

sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))

# tests/ is put on the path just above, out of the checker's sight.
from ssh_terminal import (  # type: ignore[import-not-found]
    SshTerminal,
    children_of,
    ssh_command,
)

QMFA = [sys.executable, "-m", "qmfa_tui"]
PASSWORD = "qmfa-demo"
Attack = Callable[[int, str, threading.Event], Coroutine[Any, Any, str]]


async def _connect(port: int, source: str, **options: Any) -> asyncssh.SSHClientConnection:
    return await asyncssh.connect(
        "127.0.0.1",
        port,
        local_addr=(source, 0),
        known_hosts=None,
        username=options.pop("username", "mallory"),
        client_keys=None,
        agent_path=None,
        config=None,
        login_timeout=30,
        **options,
    )


async def _until(stop: threading.Event) -> None:
    while not stop.is_set():
        await asyncio.sleep(0.1)


async def huge_window(port: int, source: str, stop: threading.Event) -> str:
    async with await _connect(port, source) as conn:
        await conn.create_session(
            asyncssh.SSHClientSession, term_type="xterm", term_size=(30000, 30000)
        )
        await _until(stop)
    return "a 30000x30000 window held"


async def input_flood(port: int, source: str, stop: threading.Event) -> str:
    sent = 0
    async with await _connect(port, source) as conn:
        process = await conn.create_process(term_type="xterm", term_size=(80, 24), encoding=None)
        chunk = b"\x1b[I" * 100_000
        while not stop.is_set() and sent < 800_000_000:
            process.stdin.write(chunk)
            try:
                await asyncio.wait_for(process.stdin.drain(), 1)
            except TimeoutError:
                continue
            sent += len(chunk)
    return f"{sent / 1e6:.0f} MB of focus reports taken in"


async def idle_sockets(port: int, source: str, stop: threading.Event) -> str:
    sockets = []
    for _ in range(41):
        sock = socket.socket()
        sock.bind((source, 0))
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
        sockets.append(sock)
    await _until(stop)
    for sock in sockets:
        sock.close()
    return "41 idle sockets held"


async def ptyless_channels(port: int, source: str, stop: threading.Event) -> str:
    held = 0
    conns = []
    for _ in range(40):
        try:
            conn = await _connect(port, source)
            await conn.create_session(asyncssh.SSHClientSession)
        except (OSError, asyncssh.Error):
            continue
        held += 1
        conns.append(conn)
    await _until(stop)
    for conn in conns:
        conn.abort()
    return f"{held} of 40 sessions without a terminal opened"


async def many_channels(port: int, source: str, stop: threading.Event) -> str:
    opened = 0
    conn = await _connect(port, source)
    for _ in range(18):
        try:
            await conn.create_session(
                asyncssh.SSHClientSession, term_type="xterm", term_size=(80, 24)
            )
            opened += 1
        except (OSError, asyncssh.Error):
            pass
    await _until(stop)
    conn.abort()
    return f"{opened} of 18 sessions on one connection opened"


async def exec_flood(port: int, source: str, stop: threading.Event) -> str:
    answered = 0
    conn: asyncssh.SSHClientConnection | None = None
    for _ in range(300):
        if stop.is_set():
            break
        try:
            if conn is None:
                conn = await _connect(port, source)
            await conn.run("ls /")
            answered += 1
        except (OSError, asyncssh.Error):
            if conn is not None:
                conn.abort()
            conn = None
    if conn is not None:
        conn.abort()
    return f"{answered} of 300 commands answered (with a refusal)"


async def wrong_passwords(port: int, source: str, stop: threading.Event) -> str:
    typed = 0
    conn = await _connect(port, source, username="admin")
    process = await conn.create_process(term_type="xterm", term_size=(80, 24), encoding=None)
    await asyncio.sleep(3)  # the login screen
    for _ in range(200):
        if stop.is_set():
            break
        process.stdin.write(b"wrong-password\r")
        typed += 1
        await asyncio.sleep(0.05)
    await _until(stop)
    conn.abort()
    return f"{typed} wrong passwords for admin typed"


async def dheat(port: int, source: str, stop: threading.Event) -> str:
    banners = 0
    for _ in range(200):
        if stop.is_set():
            break
        try:
            reader, writer = await asyncio.open_connection(
                "127.0.0.1", port, local_addr=(source, 0)
            )
            writer.write(b"SSH-2.0-bench\r\n")
            line = await asyncio.wait_for(reader.readline(), 5)
            banners += line.startswith(b"SSH-2.0-")
            writer.close()
        except (OSError, TimeoutError):
            pass
    return f"{banners} of 200 rapid connections got a version line"


ATTACKS: list[tuple[str, str, Attack]] = [
    ("30000x30000 window", "127.0.0.2", huge_window),
    ("input flood", "127.0.0.3", input_flood),
    ("41 idle sockets", "127.0.0.4", idle_sockets),
    ("40 pty-less channels", "127.0.0.5", ptyless_channels),
    ("18-channel connection", "127.0.0.6", many_channels),
    ("300 exec requests", "127.0.0.7", exec_flood),
    ("200 wrong passwords", "127.0.0.8", wrong_passwords),
    ("200 rapid connections", "127.0.0.9", dheat),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15, help="each attack (15)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="qmfa-bench-abuse-") as temp:
        work = Path(temp)
        watched = [work / "home", work / "data", work / "tmp"]
        for directory in watched:
            directory.mkdir()
        env = dict(os.environ, HOME=str(watched[0]), XDG_DATA_HOME=str(watched[1]))
        env["TMPDIR"] = str(watched[2])
        url = f"sqlite:///{work}/db/demo.db"
        run([*QMFA, "demo", "--users", "3", "--no-launch", "--database", url], env)
        public_key = run([*QMFA, "serve", "--fingerprint", "--database", url], env)[1]
        server = subprocess.Popen(
            [*QMFA, "serve", "--database", url, "--listen", "127.0.0.1:0"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=(work / "serve.log").open("w"),
            text=True,
            env=env,
        )
        try:
            assert server.stdout is not None
            found = re.search(r":(\d+),", server.stdout.readline())
            if not found:
                print("qmfa serve did not start", file=sys.stderr)
                return 1
            port = int(found.group(1))
            known_hosts = work / "known_hosts"
            known_hosts.write_text(f"[127.0.0.1]:{port} {public_key}\n")
            print(
                f"{'attack':24} {'logins':>7} {'p95 s':>6} {'coded':>5} {'serve MiB':>9} "
                f"{'app MiB':>8} {'files':>5}  what the attacker got"
            )
            for name, source, attack in ATTACKS:
                before = files_under(watched)
                result = measure(
                    port, known_hosts, url, env, server.pid, attack, source, args.seconds
                )
                created = len(files_under(watched) - before)
                logins, p95, coded, serve_rss, app_rss, said = result
                print(
                    f"{name:24} {logins:>7} {p95:>6.2f} {coded:>5} {serve_rss:>9.0f} "
                    f"{app_rss:>8.0f} {created:>5}  {said}",
                    flush=True,
                )
        finally:
            server.terminate()
            server.wait(120)
        print("audit rows about each attacking address (written within the minute, or at stop):")
        with sqlite3.connect(f"{work}/db/demo.db") as db:
            for name, source, _ in ATTACKS:
                rows = db.execute(
                    "SELECT action, detail FROM audit_event WHERE origin = ? OR origin LIKE ?",
                    (source, f"% from {source}"),
                ).fetchall()
                shown = "; ".join(f"{action} {detail}" for action, detail in rows[:3])
                print(f"  {name:24} {len(rows):>4}  {shown[:150]}")
    return 0


def measure(
    port: int,
    known_hosts: Path,
    url: str,
    env: dict[str, str],
    server_pid: int,
    attack: Attack,
    source: str,
    seconds: float,
) -> tuple[str, float, int, float, float, str]:
    stop = threading.Event()
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    attacking = asyncio.run_coroutine_threadsafe(attack(port, source, stop), loop)
    peaks = [0.0, 0.0]
    sampling = threading.Event()

    def sample() -> None:
        while not sampling.is_set():
            peaks[0] = max(peaks[0], rss_mib(server_pid))
            for app in children_of(server_pid):
                peaks[1] = max(peaks[1], rss_mib(app))
            time.sleep(0.25)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    times: list[float] = []
    tries = coded = 0
    deadline = time.monotonic() + seconds
    time.sleep(1)  # the attack under way
    while time.monotonic() < deadline:
        tries += 1
        took, with_code = log_in(port, known_hosts, url, env)
        if took is not None:
            times.append(took)
        coded += with_code
        time.sleep(2)
    stop.set()
    try:
        said = attacking.result(120)
    except Exception as error:  # an attack the server cut short says so
        said = f"ended: {type(error).__name__}: {error}"[:80]
    sampling.set()
    sampler.join()
    loop.call_soon_threadsafe(loop.stop)
    thread.join(30)
    loop.close()
    p95 = statistics.quantiles(times, n=20)[-1] if len(times) > 1 else (times or [0.0])[0]
    return f"{len(times)}/{tries}", p95, coded, peaks[0], peaks[1], said


_spent_steps: set[int] = set()


def log_in(
    port: int, known_hosts: Path, url: str, env: dict[str, str]
) -> tuple[float | None, bool]:
    """Seconds from `ssh` started to the password accepted (None if it was not), and
    whether the code then logged in (tried only on a step not spent yet)."""
    started = time.monotonic()
    with SshTerminal(ssh_command(port, known_hosts, "admin")) as terminal:
        try:
            terminal.expect("Log in to qmfa", timeout=30)
            terminal.type(PASSWORD + "\r")
            terminal.expect("Security code", "security code", timeout=30)
        except AssertionError:
            return None, False
        took = time.monotonic() - started
        step = int(time.time() // 30)
        with_code = False
        if step not in _spent_steps and time.time() % 30 < 25:
            _spent_steps.add(step)
            code = run([*QMFA, "demo", "codes", "admin", "--database", url], env)[0]
            terminal.type(code.strip() + "\r")
            with contextlib.suppress(AssertionError):
                terminal.expect("My Account", timeout=30)
                with_code = True
        terminal.type("\x11")
        with contextlib.suppress(AssertionError):
            terminal.wait(30)
    return took, with_code


def rss_mib(pid: int) -> float:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    found = re.search(r"VmRSS:\s+(\d+) kB", status)
    return int(found.group(1)) / 1024 if found else 0.0


def files_under(directories: list[Path]) -> set[Path]:
    return {path for directory in directories for path in directory.rglob("*")}


def run(argv: list[str], env: dict[str, str]) -> list[str]:
    done = subprocess.run(
        argv, capture_output=True, text=True, timeout=300, env=env, stdin=subprocess.DEVNULL
    )
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv[2:4])}: {done.stderr.strip()}")
    return done.stdout.splitlines()


if __name__ == "__main__":
    sys.exit(main())
