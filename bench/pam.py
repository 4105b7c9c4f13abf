"""The PAM helper's numbers (issue 26), not tests. Three measurements:

    python bench/pam.py helper [--runs 21] [--postgres URL]
        one `python -I -m qmfa_tui.pam verify` with a good code, process start to exit
        (median <= 150 ms on SQLite, <= 200 ms on a local PostgreSQL)
    python bench/pam.py hosts [--postgres URL] [--hosts 10] [--users 10] [--logins 50]
        50 helpers at once under 10 `--host` names against one PostgreSQL, each user's
        one code raced on several hosts: exactly one acceptance a user, no error, the
        helpers' p95 (<= 500 ms)
    python bench/pam.py ssh [--pairs 15]          (as root, with openssh-server)
        the real ssh client to loopback sshds from `qmfa pam setup`, interleaved pairs:
        key + code against key only (the code step adds <= 250 ms median)

Where no --postgres URL is given, `hosts` (and `helper`, after SQLite) start a throw-away
PostgreSQL on loopback as .ci/run does (initdb and pg_ctl as the postgres user, in a temp
dir) and stop it after. A URL given must name an empty database; it is left with the
bench's users, devices and audit events. Prints the numbers and exits 0.
"""

from __future__ import annotations

import argparse
import glob
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pyotp
from argon2 import PasswordHasher

from qmfa_tui import storage
from qmfa_tui.services import accounts, clock, twofactor
from qmfa_tui.services.session import issue_actor, shell_actor

HELPER = [sys.executable, "-I", "-m", "qmfa_tui.pam"]
PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIONrtMAGl4YK6VA509LMWF7D9bPyzPne4PY7nYW4eQLh"
STEP_SECONDS = 30
REFUSED_REPLAY = "That code was already used. Wait for the next one."
REFUSED_THROTTLED = "Too many failed attempts."


def percentile(sorted_times: Sequence[float], fraction: float) -> float:
    return sorted_times[min(len(sorted_times) - 1, round(fraction * (len(sorted_times) - 1)))]


def summary(label: str, times: Sequence[float]) -> str:
    ordered = sorted(times)
    return (
        f"{label}: median {statistics.median(ordered) * 1000:6.1f} ms, "
        f"p95 {percentile(ordered, 0.95) * 1000:6.1f} ms, min {ordered[0] * 1000:6.1f} ms, "
        f"max {ordered[-1] * 1000:6.1f} ms ({len(ordered)} runs)"
    )


def wait_for_fresh_step(seconds_needed: float) -> None:
    """Until the current TOTP step has ``seconds_needed`` left (codes taken now stay current)."""
    while STEP_SECONDS - time.time() % STEP_SECONDS < seconds_needed:
        time.sleep(0.1)


# --- A throw-away PostgreSQL --------------------------------------------------------------


def _as_postgres(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@contextmanager
def throwaway_postgres() -> Iterator[str]:
    """A PostgreSQL server of this machine's packages on a free loopback port, in a temp
    dir, removed after; the URL of its empty database."""
    bindirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
    if not bindirs:
        raise SystemExit("no PostgreSQL here (apt-get install postgresql), or give --postgres")
    bindir = Path(bindirs[-1])
    directory = Path(tempfile.mkdtemp(prefix="qmfa-bench-postgres-"))
    directory.chmod(0o755)
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    data = directory / "data"
    started = False
    try:
        subprocess.run(
            _as_postgres([str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "qmfa",
                          "--no-sync"]),
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        subprocess.run(
            _as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-l", str(directory / "log"),
                          "-w", "-o", f"-k {directory} -p {port} -c listen_addresses=127.0.0.1 "
                          "-c max_connections=200", "start"]),
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        started = True
        subprocess.run(
            _as_postgres([str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U",
                          "qmfa", "qmfa_bench"]),
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        yield f"postgresql://qmfa@127.0.0.1:{port}/qmfa_bench"
    finally:
        if started:
            subprocess.run(
                _as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
                capture_output=True, timeout=60,
            )  # fmt: skip
        shutil.rmtree(directory, ignore_errors=True)


@contextmanager
def postgres_url(given: str | None) -> Iterator[str]:
    if given:
        yield given
    else:
        with throwaway_postgres() as url:
            yield url


# --- The helper alone -----------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    name: str
    secret: str


def prepare(url: str, users: int, key_file: Path) -> list[Person]:
    """``users`` users with a device registered a minute ago (its codes of now unused)."""
    storage.open_database(url, key_file=key_file)
    accounts.set_password_hasher(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    registered_at = time.time() - 60
    people = []
    try:
        with clock.use_clock(lambda: registered_at):
            for number in range(users):
                name = f"pam{number:03d}"
                info = accounts.create_user(shell_actor(), name, password="correct horse")
                actor = issue_actor(info.id, name)
                pending = twofactor.begin_registration(actor)
                twofactor.confirm_registration(
                    actor, pending, pyotp.TOTP(pending.secret).at(registered_at)
                )
                people.append(Person(name, pending.secret))
    finally:
        storage.close_database()
    return people


def helper_command(url: str, key_file: Path, host: str) -> list[str]:
    return [*HELPER, "verify", "--service-kind", "sshd", "--database", url,
            "--key-file", str(key_file), "--host", host]  # fmt: skip


def helper_environment(username: str) -> dict[str, str]:
    return {
        "PAM_USER": username,
        "PAM_SERVICE": "sshd",
        "PAM_RHOST": "127.0.0.1",
        "PAM_TTY": "ssh",
        "SSH_AUTH_INFO_0": f"publickey {PUBLIC_KEY}\n",
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
    }


def run_once(url: str, key_file: Path, person: Person) -> float:
    """Seconds from the helper's start to its exit, checking ``person``'s code of now."""
    wait_for_fresh_step(1)
    code = pyotp.TOTP(person.secret).now()
    started = time.perf_counter()
    done = subprocess.run(
        helper_command(url, key_file, "bench"),
        input=code,
        env=helper_environment(person.name),
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"the helper refused {person.name}: {done.stdout}{done.stderr}")
    return elapsed


def measure_helper(label: str, url: str, runs: int, directory: Path) -> None:
    key_file = directory / f"{label}.key"
    people = prepare(url, runs + 1, key_file)
    run_once(url, key_file, people[0])  # the first run warms the page cache
    times = [run_once(url, key_file, person) for person in people[1:]]
    print(summary(f"{label:<10} helper verify, good code", times))


def bench_helper(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as name:
        directory = Path(name)
        measure_helper("SQLite", f"sqlite:///{directory}/qmfa.db", args.runs, directory)
        if args.sqlite_only:
            return
        with postgres_url(args.postgres) as url:
            measure_helper("PostgreSQL", url, args.runs, directory)


# --- Many hosts, one PostgreSQL ------------------------------------------------------------


def bench_hosts(args: argparse.Namespace) -> None:
    """``logins`` helpers started at once (or spread over ``spread`` s), user by user
    round-robin over ``hosts`` host names, every helper of a user sending that user's one
    code of now: each user's code is accepted once, the others are refused as replays."""
    if args.logins < args.users:
        raise SystemExit("--logins must be at least --users")
    with tempfile.TemporaryDirectory() as name, postgres_url(args.postgres) as url:
        key_file = Path(name) / "qmfa.key"
        people = prepare(url, args.users, key_file)
        wait_for_fresh_step(args.spread + 10)
        code_files = {}
        for person in people:  # what pam_exec writes on the helper's stdin
            code_files[person.name] = Path(name) / f"{person.name}.code"
            code_files[person.name].write_text(pyotp.TOTP(person.secret).now())
        plan = [(people[i % len(people)], f"host{i % args.hosts:02d}") for i in range(args.logins)]
        # Each reaped as it ends (wait4, also between starts), with its own CPU time: on a
        # machine with fewer cores than helpers, the wall time is mostly waiting for a CPU.
        running: dict[int, tuple[Person, str, float, subprocess.Popen[str]]] = {}
        times: list[float] = []
        cpu_times: list[float] = []
        outcomes: Counter[str] = Counter()
        accepted: Counter[str] = Counter()
        errors: list[str] = []

        def reap(block: bool) -> bool:
            """One ended helper counted; False when none had ended (``block``: wait)."""
            pid, status, usage = os.wait4(-1, 0 if block else os.WNOHANG)
            if pid == 0 or pid not in running:
                return False
            person, host, started, process = running.pop(pid)
            times.append(time.perf_counter() - started)
            cpu_times.append(usage.ru_utime + usage.ru_stime)
            process.returncode = os.waitstatus_to_exitcode(status)
            assert process.stdout is not None and process.stderr is not None
            out, err = process.stdout.read(), process.stderr.read()
            process.stdout.close()
            process.stderr.close()
            if process.returncode == 0:
                accepted[person.name] += 1
                outcomes["accepted"] += 1
            elif process.returncode == 1 and out.strip() == REFUSED_REPLAY:
                outcomes["refused: replay"] += 1
            elif process.returncode == 1 and out.startswith(REFUSED_THROTTLED):
                outcomes["refused: throttled"] += 1  # replays count as failed attempts
            else:
                outcomes[f"exit {process.returncode}"] += 1
                errors.append(f"{person.name} on {host}: exit {process.returncode}: {out}{err}")
            return True

        begun = time.perf_counter()
        for number, (person, host) in enumerate(plan):
            due = begun + args.spread * number / len(plan)
            while time.perf_counter() < due:
                if running and reap(block=False):
                    continue
                time.sleep(min(0.005, max(0.0, due - time.perf_counter())))
            started = time.perf_counter()
            with code_files[person.name].open("rb") as code:
                process = subprocess.Popen(
                    helper_command(url, key_file, host),
                    stdin=code,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    env=helper_environment(person.name),
                    text=True,
                )
            running[process.pid] = (person, host, started, process)
        while running:
            reap(block=True)
        doubles = {name: count for name, count in accepted.items() if count > 1}
        print(
            f"{args.logins} helpers, {args.hosts} hosts, {args.users} users, one PostgreSQL, "
            f"started over {args.spread:g} s on {os.cpu_count()} CPUs: {dict(outcomes)}"
        )
        print(summary("  each helper, start to exit", times))
        print(summary("  each helper's CPU time    ", cpu_times))
        print(
            f"  users accepted once: {sum(1 for c in accepted.values() if c == 1)}/{args.users}; "
            f"double acceptances: {doubles or 'none'}; errors: {len(errors)}"
        )
        for line in errors[:5]:
            print("  " + line.strip())


# --- ssh through a loopback sshd: key + code against key only -------------------------------


def bench_ssh(pairs: int) -> None:
    """Two sshds of this machine on loopback, set up as tests/pam/test_pam_sshd.py does (a
    root-owned venv, a service account, `qmfa pam setup`): one guarded, one whose
    configuration asks a key alone; ``pairs`` people, each logging in to both, in
    alternating order. The code step's cost is the median of each pair's difference."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from dataclasses import replace

    from pam_host import (  # type: ignore[import-not-found]
        SSHD,
        guarded_host,
        missing_requirements,
        new_client,
        started_sshd,
    )

    missing = missing_requirements(str(SSHD), "/usr/bin/ssh", "/usr/bin/ssh-keygen")
    if missing is not None:
        raise SystemExit(f"cannot run the ssh bench: {missing}")
    with (
        guarded_host([sys.executable, "-m", "qmfa_tui"]) as host,
        started_sshd(host) as guarded,
        started_sshd(host, before="AuthenticationMethods publickey\n") as key_only,
    ):
        with_code: list[float] = []
        key_alone: list[float] = []
        differences: list[float] = []
        for number in range(pairs + 1):
            client = new_client(guarded)
            (key_only.keys_dir / client.person.name).write_text(
                client.key.with_suffix(".pub").read_text()
            )
            plain = replace(client, sshd=key_only)
            wait_for_fresh_step(5)
            client.answer(client.person.code_now())
            timed = {}
            for which in ("code", "key") if number % 2 else ("key", "code"):
                started = time.perf_counter()
                done = (client if which == "code" else plain).ssh("true")
                timed[which] = time.perf_counter() - started
                if done.returncode != 0:
                    raise SystemExit(f"ssh ({which}) failed: {done.stderr}")
            if number == 0:
                continue  # the first pair warms the caches
            with_code.append(timed["code"])
            key_alone.append(timed["key"])
            differences.append(timed["code"] - timed["key"])
        print(summary("ssh key only      ", key_alone))
        print(summary("ssh key + code    ", with_code))
        print(summary("the code step adds", differences))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command")
    helper = commands.add_parser("helper", help="the helper alone, verify with a good code")
    helper.add_argument("--runs", type=int, default=21)
    helper.add_argument("--postgres", help="an empty PostgreSQL database's URL")
    helper.add_argument("--sqlite-only", action="store_true")
    hosts = commands.add_parser("hosts", help="many hosts' helpers at once on one PostgreSQL")
    hosts.add_argument("--postgres", help="an empty PostgreSQL database's URL")
    hosts.add_argument("--hosts", type=int, default=10)
    hosts.add_argument("--users", type=int, default=10)
    hosts.add_argument("--logins", type=int, default=50)
    hosts.add_argument("--spread", type=float, default=0.0, help="seconds to start them over")
    ssh = commands.add_parser("ssh", help="ssh key + code against key only (as root)")
    ssh.add_argument("--pairs", type=int, default=15)
    args = parser.parse_args()
    if args.command == "hosts":
        bench_hosts(args)
    elif args.command == "ssh":
        bench_ssh(args.pairs)
    else:
        if args.command is None:
            args = parser.parse_args(["helper", *sys.argv[1:]])
        bench_helper(args)


if __name__ == "__main__":
    main()
