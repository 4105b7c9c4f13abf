"""The helper ``pam_exec`` runs: ``exempt`` (may this user pass with no code now?) and
``verify`` (check the code pam_exec writes on stdin), for sshd or sudo.

It trusts only what PAM gives it: PAM_USER, PAM_SERVICE, PAM_RHOST, PAM_TTY and, under
sshd, SSH_AUTH_INFO_0 (the methods that passed before; a login that did not pass a public
key is refused). What it prints becomes one PAM_TEXT_INFO message a line. Exit status:
0 passed, 1 refused (the reason printed), 2 bad usage, 3 the check broke. It fails closed:
any error, in any step, is a line in syslog (LOG_AUTHPRIV, "qmfa-pam") and on stderr, a
short line to the person, ``pam.failed`` in the audit when the database can be reached
(it is opened before the key is loaded, so a missing, readable or wrong key is audited
too), and exit 3. It never sleeps (a throttled attempt is refused at once): a waiting
helper holds one of sshd's unauthenticated connection slots.

It starts twice a login, so it imports only what each step uses: the standard library
to read the arguments (by hand: argparse slows every login); for ``exempt``, the driver
alone first (``quick``: a user with a device needs a code, told before the rest loads), then,
only for the rest, peewee and the services; for ``verify``, the TOTP and AES code too;
never argon2, Textual or rich.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import sys
import syslog
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from qmfa_tui.services.guard import Origin

EXIT_PASSED = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_FAILED = 3

# What stdin may hold: pam_exec writes the typed answer without a newline, and closes it.
MAX_CODE_BYTES = 64
_CODE_BYTES = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789- ")
MAX_AUTH_INFO = 16 * 1024  # SSH_AUTH_INFO_0: a few lines, an RSA key's being ~3 kB
MAX_USERNAME = 150
DEFAULT_TIMEOUT_SECONDS = 3.0
MAX_TIMEOUT_SECONDS = 30.0

NOT_A_CODE = "That is not a security code or a recovery code."
NOT_A_USER = "This account has no two-step verification in qmfa; ask your administrator."
NO_KEY = "This login did not begin with an SSH key; ask your administrator."
CANNOT_CHECK = "qmfa cannot check codes right now; ask your administrator."
SYSLOG_IDENT = "qmfa-pam"


class Refused(Exception):
    """A refusal found before the database was asked: its message is for the person."""


USAGE = (
    "usage: python -I -m qmfa_tui.pam {exempt,verify} --service-kind {sshd,sudo} "
    "--database URL [--key-file PATH] [--host NAME] [--demand-code] "
    "[--connect-timeout SECONDS] [--statement-timeout SECONDS]"
)
HELP = f"""{USAGE}

qmfa's second factor for a PAM service, run by pam_exec.

  exempt                 exit 0 when policy asks no code of PAM_USER now
  verify                 check the code on stdin (pam_exec expose_authtok)
  --service-kind         sshd or sudo
  --database URL         the database URL
  --key-file PATH        the instance key (default: beside the database)
  --host NAME            this host's name in the audit log (default: its hostname)
  --demand-code          exempt nobody on this host
  --connect-timeout S    seconds to connect to PostgreSQL (default {DEFAULT_TIMEOUT_SECONDS:g})
  --statement-timeout S  seconds for each statement, or SQLite's wait for a lock
                         (default {DEFAULT_TIMEOUT_SECONDS:g})
"""
_CHOICES = {"step": ("exempt", "verify"), "--service-kind": ("sshd", "sudo")}
_VALUED = ("--service-kind", "--database", "--key-file", "--host")
_TIMEOUTS = ("--connect-timeout", "--statement-timeout")


class UsageError(Exception):
    """A command line the helper cannot run: exit 2 (argparse's status) with its reason."""


@dataclass(frozen=True)
class Arguments:
    """The helper's command line, read by ``parse_arguments``."""

    step: str
    service_kind: str
    database: str
    key_file: str | None = None
    host: str | None = None
    demand_code: bool = False
    connect_timeout: float = DEFAULT_TIMEOUT_SECONDS
    statement_timeout: float = DEFAULT_TIMEOUT_SECONDS


def _seconds(option: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value <= MAX_TIMEOUT_SECONDS:  # refuses nan too
        raise UsageError(
            f"{option}: a number of seconds above 0, at most {MAX_TIMEOUT_SECONDS:g}, not {text!r}"
        )
    return value


def parse_arguments(argv: Sequence[str]) -> Arguments:
    """The command line as ``HELP`` describes it (``--option value`` or
    ``--option=value``), or UsageError. Hand-read: argparse, with the gettext, locale
    and shutil it loads, slowed every login."""
    values: dict[str, str] = {}
    demand_code = False
    words = list(argv)
    while words:
        word = words.pop(0)
        option, equals, inline = word.partition("=")
        if option in (*_VALUED, *_TIMEOUTS):
            if equals:
                value = inline
            elif words:
                value = words.pop(0)
            else:
                raise UsageError(f"{option} needs a value")
            values[option] = value  # the last one wins, as with argparse
        elif word == "--demand-code":
            demand_code = True
        elif word.startswith("-") or "step" in values:
            raise UsageError(f"unrecognised argument {word!r}")
        else:
            values["step"] = word
    for name in ("step", "--service-kind", "--database"):
        if name not in values:
            raise UsageError(f"{name.removeprefix('--')} is required")
    for name, choices in _CHOICES.items():
        if values[name] not in choices:
            raise UsageError(f"{name}: choose one of {', '.join(choices)}, not {values[name]!r}")
    timeouts = [
        _seconds(name, values[name]) if name in values else DEFAULT_TIMEOUT_SECONDS
        for name in _TIMEOUTS
    ]
    return Arguments(
        step=values["step"],
        service_kind=values["--service-kind"],
        database=values["--database"],
        key_file=values.get("--key-file"),
        host=values.get("--host"),
        demand_code=demand_code,
        connect_timeout=timeouts[0],
        statement_timeout=timeouts[1],
    )


@dataclass(frozen=True)
class Login:
    """What PAM says of the login being guarded."""

    username: str
    service: str
    remote_host: str
    tty: str
    key_fingerprint: str | None  # None: no public key passed before (or unreadable)


def key_fingerprint(auth_info: str) -> str | None:
    """The SHA256 fingerprint (as ``ssh-keygen -l`` shows it) of the key on the first
    ``publickey`` line of sshd's SSH_AUTH_INFO_0; None when there is none or it is
    malformed or too long."""
    if len(auth_info) > MAX_AUTH_INFO:
        return None
    for line in auth_info.splitlines():
        fields = line.split()
        if len(fields) >= 3 and fields[0] == "publickey":
            try:
                blob = base64.b64decode(fields[2], validate=True)
            except (binascii.Error, ValueError):
                return None
            if not blob:
                return None
            digest = base64.b64encode(hashlib.sha256(blob).digest()).decode("ascii")
            return "SHA256:" + digest.rstrip("=")
    return None


def read_login(environ: Mapping[str, str]) -> Login:
    return Login(
        username=environ.get("PAM_USER", ""),
        service=environ.get("PAM_SERVICE", ""),
        remote_host=environ.get("PAM_RHOST", ""),
        tty=environ.get("PAM_TTY", ""),
        key_fingerprint=key_fingerprint(environ.get("SSH_AUTH_INFO_0", "")),
    )


def read_code(fd: int = 0) -> bytes:
    """At most MAX_CODE_BYTES + 1 bytes of ``fd`` (one more tells it was too long)."""
    data = b""
    while len(data) <= MAX_CODE_BYTES:
        try:
            chunk = os.read(fd, MAX_CODE_BYTES + 1 - len(data))
        except OSError:
            break  # no stdin at all: nothing was typed
        if not chunk:
            break
        data += chunk
    return data


def code_text(data: bytes) -> str:
    """The typed code as text, or Refused: at most MAX_CODE_BYTES of ASCII letters,
    digits, '-' and ' ' (one trailing newline, as from ``echo``, is dropped)."""
    if data.endswith(b"\n"):
        data = data[:-1]
    if not data.strip() or len(data) > MAX_CODE_BYTES or not set(data) <= _CODE_BYTES:
        raise Refused(NOT_A_CODE)
    return data.decode("ascii")


def _say(line: str) -> None:
    """One line for the person (pam_exec's ``stdout``: one PAM_TEXT_INFO message)."""
    sys.stdout.write(line.replace("\n", " ") + "\n")
    sys.stdout.flush()


def _log(priority: int, line: str) -> None:
    syslog.openlog(SYSLOG_IDENT, syslog.LOG_PID, syslog.LOG_AUTHPRIV)
    syslog.syslog(priority, line)


def _printable(text: str, limit: int = 200) -> str:
    return "".join(c if c.isprintable() else "?" for c in text[:limit])


def _origin(args: Arguments, login: Login) -> Origin:
    from qmfa_tui.services.guard import Origin

    return Origin.of(
        args.host or os.uname().nodename,  # gethostname's value, without the socket module
        login.service or args.service_kind,
        login.remote_host,
        login.tty,
        login.key_fingerprint or "",
    )


def needs_a_code(args: Arguments, login: Login, early_refusal: Refused | None) -> bool:
    """Whether ``exempt`` can refuse at once, before peewee and the services load: the
    host asks everyone for a code, the login was refused already, or (``quick``) the user
    has a device. A quick "no" is never an exemption: only the full check grants one."""
    if args.demand_code or early_refusal is not None:
        return True
    from qmfa_tui.pam import quick

    return quick.has_device(
        args.database,
        login.username,
        connect_timeout=args.connect_timeout,
        statement_timeout=args.statement_timeout,
    )


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else argv
    if "-h" in words or "--help" in words:
        sys.stdout.write(HELP)
        return EXIT_PASSED
    try:
        args = parse_arguments(words)
    except UsageError as error:
        sys.stderr.write(f"{USAGE}\npython -I -m qmfa_tui.pam: error: {error}\n")
        return EXIT_USAGE
    login = read_login(os.environ if environ is None else environ)
    who = f"{_printable(login.username, MAX_USERNAME)!r} ({args.step}, {args.service_kind})"
    opened = False
    origin: Origin | None = None
    try:
        raw_code = read_code() if args.step == "verify" else b""
        early_refusal: Refused | None = None
        try:
            if not login.username or len(login.username) > MAX_USERNAME:
                raise Refused(NOT_A_USER)
            if args.service_kind == "sshd" and login.key_fingerprint is None:
                raise Refused(NO_KEY)
            code = code_text(raw_code) if args.step == "verify" else ""
        except Refused as refusal:
            early_refusal = refusal
            code = ""
        from qmfa_tui.database_url import skip_unused_drivers

        skip_unused_drivers(args.database)
        if args.step == "exempt" and needs_a_code(args, login, early_refusal):
            return EXIT_REFUSED  # as the full check would: nothing said, nothing audited
        from qmfa_tui.storage import database

        # Opened without the key, loaded once the audit can name where the attempt came
        # from: a missing, wrong or readable key is a pam.failed event, not only a syslog
        # line. `exempt` unseals nothing but checks the key all the same (an HMAC, cheap):
        # a host pointed at another instance's database must not exempt by its policy.
        database.open_database(
            args.database,
            create=False,
            migrate=False,
            connect_timeout=args.connect_timeout,
            statement_timeout=args.statement_timeout,
            with_key=False,
        )
        opened = True
        from qmfa_tui.errors import QmfaError, StorageError
        from qmfa_tui.services import clock, guard

        origin = _origin(args, login)
        database.load_key(args.key_file)
        source = guard.database_clock()
        in_time: AbstractContextManager[None] = (
            nullcontext() if source is None else clock.use_clock(source)
        )
        with in_time:
            try:
                if early_refusal is not None:
                    if args.step == "verify":
                        guard.record_refusal(login.username, origin, str(early_refusal))
                    raise early_refusal
                if args.step == "exempt":
                    notice = guard.exemption(login.username, origin, demand_code=args.demand_code)
                else:
                    notice = guard.verify(login.username, code, origin).notice
            except StorageError:
                raise
            except (QmfaError, Refused) as refusal:
                message = refusal.message if isinstance(refusal, QmfaError) else str(refusal)
                if args.step == "verify":
                    _log(syslog.LOG_NOTICE, f"refused {who}: {message}")
                    _say(message)
                return EXIT_REFUSED
        if notice:
            _say(notice)
        _log(syslog.LOG_INFO, f"passed {who} from {origin.describe()}")
        return EXIT_PASSED
    except BaseException as error:  # fail closed on anything at all
        reason = f"{type(error).__name__}: {_printable(str(error).strip())}"
        line = f"cannot check {who}: {reason}"
        _log(syslog.LOG_ERR, line)
        sys.stderr.write(f"{SYSLOG_IDENT}: {line}\n")
        _say(CANNOT_CHECK)
        if opened and origin is not None:
            try:
                from qmfa_tui.services import guard

                guard.record_failure(login.username, origin, reason)
            except Exception as audit_error:  # the database may be what broke
                _log(syslog.LOG_ERR, f"cannot audit that failure: {type(audit_error).__name__}")
        return EXIT_FAILED
