"""`qmfa serve` with the real OpenSSH client: how soon, how big, how responsive.

    python bench/serve.py               # a demo database and a server in a temp dir
    python bench/serve.py --runs 11 --sessions 16

Prints numbers and exits 0 (not a test). Goals from issue 16: the login screen soon
after `ssh` connects (median of --runs); the memory each session's app takes; with
--sessions sessions open at once (16, the default limit), each answering a key within
100 ms (the key typed into every session at once, per round).
"""

from __future__ import annotations

import argparse
import re
import select
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))

# tests/ is put on the path just above, out of the checker's sight.
from ssh_terminal import (  # type: ignore[import-not-found]
    SshTerminal,
    children_of,
    ssh_command,
)

QMFA = [sys.executable, "-m", "qmfa_tui"]
ROUNDS = "1234567890"  # one new character per round: its echo is the answer


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="connections timed (default: 7)")
    parser.add_argument("--sessions", type=int, default=16, help="sessions at once (16)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="qmfa-bench-serve-") as temp:
        work = Path(temp)
        url = f"sqlite:///{work}/demo.db"
        run([*QMFA, "demo", "--users", "50", "--no-launch", "--database", url])
        fingerprint, public_key = run([*QMFA, "serve", "--fingerprint", "--database", url])
        limits = ["--max-sessions", str(args.sessions)]
        limits += ["--connections-per-minute", str(args.runs + args.sessions + 10)]
        # Every session comes from 127.0.0.1: let them all start at once.
        limits += ["--connection-burst", str(args.runs + args.sessions + 10)]
        limits += ["--startups-per-address", str(args.sessions)]
        limits += ["--max-startups", f"{args.sessions + 1}:30:{2 * args.sessions + 2}"]
        server = subprocess.Popen(
            [*QMFA, "serve", "--database", url, "--listen", "127.0.0.1:0", *limits],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            assert server.stdout is not None
            started = server.stdout.readline()
            found = re.search(r":(\d+),", started)
            if not found:
                raise SystemExit(f"qmfa serve did not start: {started!r}")
            port = int(found.group(1))
            known_hosts = work / "known_hosts"
            known_hosts.write_text(f"[127.0.0.1]:{port} {public_key}\n")
            print(f"qmfa serve on 127.0.0.1:{port}, host key {fingerprint}")
            connect_times(port, known_hosts, args.runs)
            concurrent(port, known_hosts, server.pid, args.sessions)
        finally:
            server.terminate()
            server.wait(60)
    return 0


def run(argv: list[str]) -> list[str]:
    done = subprocess.run(argv, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    return done.stdout.splitlines()


def connect_times(port: int, known_hosts: Path, runs: int) -> None:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        with SshTerminal(ssh_command(port, known_hosts, "admin")) as terminal:
            terminal.expect("Log in to qmfa", timeout=120)
            times.append(time.perf_counter() - start)
            terminal.type("\x11")  # Ctrl+Q
            terminal.wait(60)
    print(
        f"ssh connect -> login screen drawn: median {statistics.median(times) * 1000:.0f} ms "
        f"(min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f}; {runs} runs)"
    )


def concurrent(port: int, known_hosts: Path, server_pid: int, sessions: int) -> None:
    terminals = [SshTerminal(ssh_command(port, known_hosts, "bench")) for _ in range(sessions)]
    try:
        for terminal in terminals:
            terminal.expect("Log in to qmfa", timeout=180)
            terminal.type("\x1b[Z")  # Shift+Tab: back to the Username field, to type into
        time.sleep(2)
        for terminal in terminals:
            terminal.read_for(0.01)
        apps = children_of(server_pid)
        rss = [_memory(pid, "VmRSS") for pid in apps]
        pss = [_memory(pid, "Pss", "smaps_rollup") for pid in apps]
        print(
            f"memory per session ({len(apps)} apps at the login screen): "
            f"RSS median {statistics.median(rss) / 1024:.0f} MiB, "
            f"PSS median {statistics.median(pss) / 1024:.0f} MiB; "
            f"the server itself RSS {_memory(server_pid, 'VmRSS') / 1024:.0f} MiB"
        )
        latencies: list[float] = []
        for character in ROUNDS:
            latencies += _round(terminals, character)
            time.sleep(0.3)
        latencies.sort()
        within = sum(1 for t in latencies if t <= 0.1)
        p95 = latencies[int(len(latencies) * 0.95) - 1]
        print(
            f"{sessions} sessions, a key typed into each at once ({len(ROUNDS)} rounds): "
            f"median {statistics.median(latencies) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
            f"max {latencies[-1] * 1000:.0f} ms; {within} of {len(latencies)} within 100 ms"
        )
    finally:
        for terminal in terminals:
            terminal.close()


def _round(terminals: list[SshTerminal], character: str) -> list[float]:
    """Type ``character`` into every session; how long each took to draw it."""
    marks = {id(t): len(t.received) for t in terminals}
    sent: dict[int, float] = {}
    for terminal in terminals:
        sent[id(terminal)] = time.perf_counter()
        terminal.type(character)
    answered: dict[int, float] = {}
    deadline = time.perf_counter() + 30
    while len(answered) < len(terminals) and time.perf_counter() < deadline:
        waiting = [t for t in terminals if id(t) not in answered]
        ready, _, _ = select.select([t.master for t in waiting], [], [], 0.5)
        now = time.perf_counter()
        for terminal in waiting:
            if terminal.master in ready:
                terminal.read_once(0)
                if character in terminal.text(marks[id(terminal)]):
                    answered[id(terminal)] = now - sent[id(terminal)]
    return [answered.get(id(t), 30.0) for t in terminals]


def _memory(pid: int, field: str, source: str = "status") -> int:
    """A kB figure of /proc/PID/status (VmRSS) or smaps_rollup (Pss)."""
    for line in Path(f"/proc/{pid}/{source}").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
