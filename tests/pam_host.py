"""A host guarded as the README says, for the tests that drive the real sshd and sudo.

As root: a root-owned virtual environment under /var/lib (the tests' own tmp_path is
0700 and under the world-writable /tmp: the service account could not run a python there,
and `qmfa pam check` would rightly refuse it), a throw-away service account owning a qmfa
database and its key, the files of `qmfa pam setup --write`, and throw-away Unix users
who are qmfa users with a device. Everything made is removed at the end; nothing of the
machine's own (/etc/pam.d/sshd, /etc/pam.d/sudo, /etc/sudoers, sshd_config) is changed.

The environment's site-packages gets one more .pth file, a test's instrument: every
interpreter started in it appends its uid, gid, groups, NoNewPrivs and effective
capabilities to a file in ``ids_dir``, so the tests can say who the helper ran as.
"""

from __future__ import annotations

import importlib.metadata
import os
import pwd
import secrets
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pyotp
from packaging.requirements import Requirement

import qmfa_tui
from qmfa_tui import storage
from qmfa_tui.services import accounts, clock, login, twofactor

PASSWORD = "correct horse battery"
SSHD = Path("/usr/sbin/sshd")
CLIENT_SECONDS = 30
BINARIES = ("/usr/bin/setpriv", "/usr/bin/timeout", "/usr/sbin/useradd", "/usr/sbin/userdel")
_IDS_PTH = (
    "import os, sys; _d = {ids!r}; "
    "_s = open('/proc/self/status').read().splitlines(); "
    "_f = dict(l.split(':', 1) for l in _s if ':' in l); "
    "_p = os.path.join(_d, str(os.getpid())); "
    "open(_p, 'x').write("
    "'%d %d %s %s %s' % (os.getuid(), os.getgid(), ','.join(map(str, os.getgroups())), "
    "_f.get('NoNewPrivs', '?').strip(), _f.get('CapEff', '?').strip())) "
    "if os.path.isdir(_d) and not os.path.exists(_p) "
    "and 'qmfa_tui.pam' in ' '.join(sys.orig_argv) else None\n"
)


def missing_requirements(*binaries: str) -> str | None:
    """Why these tests cannot run here (a skip reason), or None."""
    if os.geteuid() != 0:
        return "needs root (makes Unix users, runs sshd and sudo)"
    for binary in (*BINARIES, *binaries):
        if not os.access(binary, os.X_OK):
            return f"{binary} is not installed"
    if shared_python() is None:
        return (
            f"no python{sys.version_info.major}.{sys.version_info.minor} that another "
            "account may run (the service account runs the helper)"
        )
    return None


def shared_python() -> Path | None:
    """An interpreter of this Python version that every account may run (the venv's own
    may sit under /root, 0700): the helper's venv is built on it."""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    candidates = [
        Path(os.path.realpath(getattr(sys, "_base_executable", sys.executable))),
        Path(f"/usr/bin/python{version}"),
        Path(f"/usr/local/bin/python{version}"),
    ]
    for candidate in candidates:
        if not candidate.is_file():
            continue
        probe = subprocess.run(
            ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
             str(candidate), "-I", "-c",
             "import sys, ssl, sqlite3; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True, text=True, timeout=60, cwd="/",
        )  # fmt: skip
        if probe.returncode == 0 and probe.stdout.strip() == version:
            return candidate
    return None


def _runtime_distributions() -> list[importlib.metadata.Distribution]:
    """qmfa's runtime dependencies (with the postgres extra), each once, found here."""
    seen: dict[str, importlib.metadata.Distribution] = {}
    pending = [("qmfa", "postgres")]
    while pending:
        name, extra = pending.pop()
        try:
            distribution = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        key = distribution.metadata["Name"].lower().replace("_", "-")
        if key in seen:
            continue
        seen[key] = distribution
        for text in distribution.requires or []:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": extra}):
                pending.append((requirement.name, ""))
    seen.pop("qmfa")
    return list(seen.values())


def _link_or_copy(source: Path, target: Path) -> None:
    target.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def build_venv(root: Path, ids_dir: Path) -> Path:
    """A root-owned venv under ``root`` holding qmfa and its runtime dependencies (hard
    links to this environment's files), compiled; its python."""
    base = shared_python()
    assert base is not None
    venv = root / "venv"
    subprocess.run([str(base), "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    site = venv / "lib" / version / "site-packages"
    for distribution in _runtime_distributions():
        for file in distribution.files or []:
            source = Path(str(distribution.locate_file(file)))
            if "__pycache__" in file.parts or not source.is_file() or ".." in file.parts:
                continue
            _link_or_copy(source, site / file)
    # bench/pam.py's before/after runs give another tree of the package to measure.
    package = Path(os.environ.get("QMFA_BENCH_PACKAGE") or Path(qmfa_tui.__file__).parent)
    for source in package.rglob("*"):
        if source.is_file() and "__pycache__" not in source.parts:
            _link_or_copy(source, site / "qmfa_tui" / source.relative_to(package))
    (site / "zz_qmfa_test_ids.pth").write_text(_IDS_PTH.format(ids=str(ids_dir)))
    subprocess.run(
        [str(venv / "bin" / "python"), "-m", "compileall", "-q", "-j", "0", str(site)],
        check=True,
        timeout=300,
        capture_output=True,
    )
    for directory, names, _ in os.walk(venv):
        for name in names:
            os.chmod(os.path.join(directory, name), 0o755)
    return venv / "bin" / "python"


def unique(prefix: str) -> str:
    return f"{prefix}{secrets.token_hex(3)}"


def add_unix_user(
    name: str, *, system: bool = False, home: Path | None = None
) -> pwd.struct_passwd:
    command = ["/usr/sbin/useradd", "--user-group", "--shell", "/bin/sh"]
    if system:
        command += ["--system", "--no-create-home", "--shell", "/usr/sbin/nologin"]
    elif home is not None:
        command += ["--create-home", "--home-dir", str(home)]
    done = account_tool([*command, name])
    assert done.returncode == 0, done.stderr
    return pwd.getpwnam(name)


def remove_unix_user(name: str) -> None:
    account_tool(["/usr/sbin/userdel", "--remove", name])
    account_tool(["/usr/sbin/groupdel", name])


def account_tool(command: list[str]) -> subprocess.CompletedProcess[str]:
    """useradd/userdel, again while another test (another xdist worker) holds the lock
    on /etc/passwd; a bounded number of times."""
    for _ in range(50):
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
        if done.returncode == 0 or "lock" not in done.stderr:
            return done
        time.sleep(0.1)
    return done


@dataclass
class Person:
    """A Unix user who is a qmfa user with a registered device."""

    name: str
    uid: int
    secret: str
    recovery_codes: list[str]

    def code_now(self) -> str:
        """The code of now, not within 3 s of a step's end (the helper runs after)."""
        while time.time() % 30 >= 27:
            time.sleep(0.2)
        return pyotp.TOTP(self.secret).now()

    def wrong_code(self) -> str:
        right = {pyotp.TOTP(self.secret).at(time.time() + shift) for shift in (-60, -30, 0, 30, 60)}
        return next(code for code in (f"{n:06d}" for n in range(1, 100)) if code not in right)


@dataclass
class Host:
    root: Path
    python: Path
    service_account: pwd.struct_passwd
    data_dir: Path
    ids_dir: Path
    setup_dir: Path  # what `qmfa pam setup --write` wrote
    people: list[str]
    postgres_url: str | None = None  # the database, when not SQLite in data_dir

    @property
    def database_url(self) -> str:
        return self.postgres_url or f"sqlite:///{self.data_dir / 'qmfa.db'}"

    @property
    def key_file(self) -> Path:
        return self.data_dir / "qmfa.key"

    @contextmanager
    def database(self) -> Iterator[None]:
        """The database opened in this process (as root); the service account owns every
        file in its directory again afterwards."""
        storage.open_database(self.database_url, key_file=self.key_file)
        try:
            yield
        finally:
            storage.close_database()
            for path in [self.data_dir, *self.data_dir.iterdir()]:
                os.chown(path, self.service_account.pw_uid, self.service_account.pw_gid)

    def add_person(self) -> Person:
        """A new Unix user (home under root) who is a qmfa user with a device registered
        two minutes ago, so that the codes of now are unused."""
        name = unique("qmfa-t-")
        self.people.append(name)
        unix = add_unix_user(name, home=self.root / "home" / name)
        registered_at = time.time() - 120
        with self.database(), clock.use_clock(lambda: registered_at):
            boss = login.with_password("admin", PASSWORD).actor
            assert boss is not None
            accounts.create_user(boss, name, password=PASSWORD)
            actor = login.with_password(name, PASSWORD).actor
            assert actor is not None
            pending = twofactor.begin_registration(actor)
            enrollment = twofactor.confirm_registration(
                actor, pending, pyotp.TOTP(pending.secret).at(registered_at)
            )
        return Person(name, unix.pw_uid, pending.secret, enrollment.recovery_codes)

    def audit(self, username: str) -> list[tuple[str, str]]:
        """(action, origin) of the PAM events about ``username``, in order."""
        query = (
            "SELECT action, origin FROM audit_event WHERE action LIKE 'pam.%%' "
            "AND target = %s ORDER BY id"
        )
        if self.postgres_url is not None:
            from playhouse.db_url import connect

            database = connect(self.postgres_url)
            try:
                rows = database.execute_sql(query, (username,)).fetchall()
            finally:
                database.close()
        else:
            with sqlite3.connect(self.data_dir / "qmfa.db") as connection:
                rows = connection.execute(
                    query.replace("%%", "%").replace("%s", "?"), (username,)
                ).fetchall()
            connection.close()
        return [(action, origin) for action, origin in rows]

    def setup(self, qmfa_command: list[str], host_name: str, directory: Path) -> None:
        """`qmfa pam setup --write directory` for this installation, naming this host
        ``host_name`` in the audit (a second host on the same database has its own)."""
        done = subprocess.run(
            [*qmfa_command, "pam", "setup", "--database", self.database_url, "--key-file",
             str(self.key_file), "--service-account", self.service_account.pw_name,
             "--python", str(self.python), "--host", host_name, "--write", str(directory)],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr

    def helper_ids(self) -> list[tuple[int, int, str, str, str]]:
        """(uid, gid, groups, NoNewPrivs, CapEff) of each helper run so far."""
        runs = []
        for record in sorted(self.ids_dir.iterdir()):
            uid, gid, groups, no_new_privs, caps = [*record.read_text().split(" "), "", "", ""][:5]
            runs.append((int(uid), int(gid), groups, no_new_privs, caps))
        return runs

    def forget_helper_ids(self) -> None:
        for record in self.ids_dir.iterdir():
            record.unlink()


@contextmanager
def guarded_host(qmfa_command: list[str], postgres_url: str | None = None) -> Iterator[Host]:
    """The host; ``qmfa_command`` runs `qmfa` (this environment's) for setup. Its database
    is SQLite in its data dir, or the empty PostgreSQL database ``postgres_url``."""
    root = Path(tempfile.mkdtemp(prefix="qmfa-test-", dir="/var/lib"))
    os.chmod(root, 0o755)
    account_name = unique("qmfa-svc-")
    host: Host | None = None
    try:
        service_account = add_unix_user(account_name, system=True)
        (root / "home").mkdir(mode=0o755)
        ids_dir = root / "ids"
        ids_dir.mkdir()
        os.chmod(ids_dir, 0o1733)  # any helper may leave its record; none may read another's
        python = build_venv(root, ids_dir)
        data_dir = root / "data"
        data_dir.mkdir(mode=0o700)
        host = Host(
            root, python, service_account, data_dir, ids_dir, root / "setup", [], postgres_url
        )
        storage.open_database(host.database_url, key_file=host.key_file, create=True)
        storage.close_database()
        with host.database():
            accounts.create_first_admin("admin", PASSWORD)
        host.setup(qmfa_command, "guarded-test-host", host.setup_dir)
        yield host
    finally:
        storage.close_database()
        for name in host.people if host is not None else []:
            remove_unix_user(name)
        remove_unix_user(account_name)
        shutil.rmtree(root, ignore_errors=True)


# --- A real sshd on loopback and the real ssh client (test_pam_sshd, test_pam_hosts, bench) ---


@dataclass
class Sshd:
    host: Host
    binary: Path  # the link whose name is the PAM service's
    config: Path
    port: int
    log: Path
    keys_dir: Path
    pam_file: Path

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def logged(self, text: str) -> bool:
        """Whether sshd's log says ``text``, within 10 s: sshd may write its line after
        the client, told no, has gone."""
        deadline = time.monotonic() + 10
        while text not in self.log_text():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.1)
        return True

    def authorize(self, person: Person) -> Path:
        """A new key pair for ``person``, its public half authorized; the private key."""
        key = self.host.root / "client" / person.name
        key.parent.mkdir(mode=0o700, exist_ok=True)
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)],
            check=True,
            timeout=CLIENT_SECONDS,
        )
        authorized = self.keys_dir / person.name
        authorized.write_text(key.with_suffix(".pub").read_text())
        authorized.chmod(0o644)
        return key


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"sshd ended at start: {log.read_text(errors='replace')}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"sshd did not listen on {port}: {log.read_text(errors='replace')}")


def write_config(
    sshd_dir: Path, port: int, host: Host, *, before: str = "", after: str = ""
) -> Path:
    """sshd's configuration: ``before`` the drop-in (the first value wins), then setup's
    sshd drop-in, then ``after`` (Match blocks)."""
    config = sshd_dir / f"sshd_config-{unique('')}"
    config.write_text(
        f"Port {port}\n"
        "ListenAddress 127.0.0.1\n"
        f"HostKey {sshd_dir / 'host_key'}\n"
        "PidFile none\n"
        f"AuthorizedKeysFile {sshd_dir / 'keys'}/%u\n"
        "PermitRootLogin no\n"
        "LogLevel VERBOSE\n"
        "LoginGraceTime 60\n"
        "Subsystem sftp internal-sftp\n"
        f"{before}"
        f"Include {host.setup_dir / 'sshd_config.d' / '00-qmfa-pam.conf'}\n"
        f"{after}"
    )
    config.chmod(0o644)
    return config


@contextmanager
def started_sshd(host: Host, setup_dir: Path | None = None, *, before: str = "") -> Iterator[Sshd]:
    """A new sshd on a free loopback port, guarded by the PAM file in ``setup_dir``
    (default: the host's own setup), under a PAM service name of its own; ``before``:
    configuration lines that come before setup's drop-in (and so win over it)."""
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # sshd's privilege separation dir
    service = unique("sshd-qmfa-test-")
    setup_dir = setup_dir or host.setup_dir
    sshd_dir = host.root / service
    (sshd_dir / "keys").mkdir(parents=True, mode=0o755)
    binary = sshd_dir / service
    binary.symlink_to(SSHD)
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(sshd_dir / "host_key")],
        check=True,
        timeout=CLIENT_SECONDS,
    )
    port = free_port()
    config = write_config(sshd_dir, port, host, before=before)
    pam_file = Path("/etc/pam.d") / service
    try:
        shutil.copyfile(setup_dir / "pam.d" / "sshd", pam_file)
        pam_file.chmod(0o644)
        log = sshd_dir / "sshd.log"
        with running(binary, config, port, log):
            yield Sshd(host, binary, config, port, log, sshd_dir / "keys", pam_file)
    finally:
        pam_file.unlink(missing_ok=True)


@contextmanager
def running(binary: Path, config: Path, port: int, log: Path) -> Iterator[None]:
    """sshd in the foreground (-D), logging to ``log`` (-e), until the block ends."""
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            [str(binary), "-D", "-e", "-f", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_port(port, process, log)
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@dataclass
class Client:
    """The ssh client of one person, answering keyboard-interactive with ``answer``."""

    sshd: Sshd
    person: Person
    key: Path
    askpass: Path
    asked: Path  # every prompt the client showed, one per askpass run
    answer_file: Path

    def answer(self, text: str) -> None:
        self.answer_file.write_text(text + "\n" if text else "")

    def prompts(self) -> str:
        return self.asked.read_text() if self.asked.exists() else ""

    def options(self) -> list[str]:
        return [
            "-F", "/dev/null",
            "-i", str(self.key),
            "-o", "IdentitiesOnly=yes",
            "-o", "UserKnownHostsFile=/dev/null",
            "-o", "StrictHostKeyChecking=no",
            "-o", "BatchMode=no",
            "-o", "PreferredAuthentications=publickey,keyboard-interactive",
            "-o", "NumberOfPasswordPrompts=1",
            "-o", "ConnectTimeout=10",
            "-o", "LogLevel=INFO",
        ]  # fmt: skip

    def environment(self) -> dict[str, str]:
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.askpass.parent),
            "SSH_ASKPASS": str(self.askpass),
            "SSH_ASKPASS_REQUIRE": "force",
            "DISPLAY": ":0",
        }

    def run(self, program: str, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        port = ["-P" if program == "sftp" else "-p", str(self.sshd.port)]
        return subprocess.run(
            [program, *port, *self.options(), *args],
            input=stdin,
            capture_output=True,
            text=True,
            errors="replace",
            env=self.environment(),
            timeout=CLIENT_SECONDS,
            start_new_session=True,  # no terminal: ssh asks SSH_ASKPASS
        )

    def ssh(self, *command: str) -> subprocess.CompletedProcess[str]:
        return self.run("ssh", f"{self.person.name}@127.0.0.1", *command)


def new_client(sshd: Sshd, person: Person | None = None) -> Client:
    """A client of ``person`` (default: a new one) with a key of their own authorized."""
    person = person or sshd.host.add_person()
    key = sshd.authorize(person)
    folder = sshd.host.root / "client" / unique(f"{person.name}-askpass-")
    folder.mkdir(mode=0o700, parents=True)
    asked = folder / "asked"
    answer_file = folder / "answer"
    answer_file.write_text("")
    askpass = folder / "askpass"
    askpass.write_text(
        f"#!/bin/sh\nprintf '%s\\n---\\n' \"$1\" >> '{asked}'\ncat '{answer_file}'\n"
    )
    askpass.chmod(0o700)
    return Client(sshd, person, key, askpass, asked, answer_file)
