"""`qmfa pam check`: a lint of what is in force for ssh and sudo.

It runs ``sshd -T`` (and ``-T -C`` for a sample user, which shows what a Match block
changes), reads the PAM files as PAM does (following includes), and looks at who may
change the helper's interpreter and who may read the key.
"""

from __future__ import annotations

import argparse
import functools
import grp
import os
import pwd
import stat
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import parse_qs

from qmfa_tui.cli.pam import (
    MAX_INCLUDE_DEPTH,
    MAX_TREE_FINDINGS,
    PASSWORD_MODULES,
    SSHD_TEST_SECONDS,
    SUDO_SERVICES,
    read_installed,
)
from qmfa_tui.errors import StorageError
from qmfa_tui.pam import stack
from qmfa_tui.text import visible


def run_check(args: argparse.Namespace) -> int:
    users = args.user or [os.environ.get("SUDO_USER") or "nobody"]
    findings = list(sshd_findings(args.sshd, args.sshd_config, users, args.address))
    services = [args.sshd.name, *SUDO_SERVICES]
    for service in services:
        findings += pam_findings(args.pam_dir, service, required=service == args.sshd.name)
    for finding in _dedupe(findings):
        print(visible(f"qmfa pam check: {finding}"))
    if findings:
        return 1
    print(
        f"qmfa pam check: nothing wrong: sshd asks for a key, then qmfa's code; "
        f"{', '.join(services)} run qmfa's lines."
    )
    return 0


def _dedupe(findings: list[str]) -> list[str]:
    return list(dict.fromkeys(findings))


def sshd_findings(sshd: Path, config: Path, users: list[str], address: str) -> Iterator[str]:
    settings = _sshd_settings(sshd, config, None)
    if isinstance(settings, str):
        yield settings
        return
    global_findings = list(_settings_findings(settings))
    yield from global_findings
    for user in users:
        if not user or any(ch in user for ch in ", \t\n="):
            yield f"--user {user!r} is not a user name sshd -C can take"
            continue
        match = f"user={user},host=qmfa-check.invalid,addr={address}"
        per_user = _sshd_settings(sshd, config, match)
        if isinstance(per_user, str):
            yield per_user
            continue
        for finding in _settings_findings(per_user):
            if finding not in global_findings:
                yield f"for {user} from {address} (a Match block): {finding}"


def _sshd_settings(sshd: Path, config: Path, match: str | None) -> dict[str, str] | str:
    """sshd's effective settings (``sshd -T``), or the finding that says why there are none."""
    command = [str(sshd), "-T", "-f", str(config)]
    if match is not None:
        command += ["-C", match]
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=SSHD_TEST_SECONDS,
            stdin=subprocess.DEVNULL,
        )
    except FileNotFoundError:
        return f"there is no sshd at {sshd}: give its path with --sshd"
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"`{' '.join(command)}` did not run ({error}): run it yourself to see why"
    if done.returncode != 0:
        reason = next((line for line in done.stderr.splitlines() if line.strip()), "no reason")
        return (
            f"`{' '.join(command)}` failed ({reason.strip()}): fix that first "
            "(`sshd -t` names the line)"
        )
    settings: dict[str, str] = {}
    for line in done.stdout.splitlines():
        key, _, value = line.partition(" ")
        settings.setdefault(key.lower(), value.strip())
    return settings


def _settings_findings(settings: dict[str, str]) -> Iterator[str]:
    if settings.get("usepam") != "yes":
        yield "sshd has UsePAM no: PAM, and so the code, never runs; set UsePAM yes"
    if settings.get("kbdinteractiveauthentication") != "yes":
        yield (
            "sshd has KbdInteractiveAuthentication no: the code cannot be asked; "
            "set KbdInteractiveAuthentication yes"
        )
    if settings.get("passwordauthentication") != "no":
        yield (
            "sshd has PasswordAuthentication yes: a Unix password can stand in for the key "
            "wherever AuthenticationMethods lets it; set PasswordAuthentication no"
        )
    methods = settings.get("authenticationmethods", "any")
    if methods == "any":
        yield (
            "sshd has AuthenticationMethods any: a key alone logs in; set "
            "AuthenticationMethods publickey,keyboard-interactive:pam"
        )
        return
    for alternative in methods.split():
        if not _key_then_code(alternative.split(",")):
            yield (
                f"sshd's AuthenticationMethods offers {alternative}, which logs in without a "
                "key followed by qmfa's code; give publickey,keyboard-interactive:pam alone"
            )


def _key_then_code(methods: list[str]) -> bool:
    if "publickey" not in methods:
        return False
    after_key = methods[methods.index("publickey") + 1 :]
    return any(
        method in ("keyboard-interactive", "keyboard-interactive:pam") for method in after_key
    )


# ------------------------------------------------------------------ check: PAM files


@dataclass(frozen=True)
class PamRule:
    file: Path
    line: int
    via: str  # "" or ", included by /etc/pam.d/sudo line 4"
    control: str
    module: str
    arguments: tuple[str, ...]

    @property
    def module_name(self) -> str:
        return Path(self.module).name

    @property
    def where(self) -> str:
        return f"{self.file} line {self.line}{self.via}"


class PamFileError(Exception):
    pass


def pam_findings(pam_dir: Path, service: str, *, required: bool) -> list[str]:
    path = pam_dir / service
    if not os.path.lexists(path):
        if required:
            return [f"there is no {path}: sshd runs no PAM auth lines of qmfa's"]
        return []  # no sudo on this host
    try:
        problems: list[str] = []
        rules = auth_rules(pam_dir, service, problems)
    except PamFileError as error:
        return [str(error)]
    kind: stack.Service = "sshd" if required else "sudo"
    block_at = next(
        (index for index, rule in enumerate(rules) if _helper_step(rule) is not None), None
    )
    if block_at is None:
        return [
            *problems,
            f"{path} runs no qmfa lines: {service} asks for no code; install the "
            f"pam.d/{'sshd' if required else service} of `qmfa pam setup` there",
        ]
    findings = problems
    for rule in rules[:block_at]:
        if rule.module_name in PASSWORD_MODULES or (
            rule.module_name == "pam_exec.so" and "expose_authtok" in rule.arguments
        ):
            findings.append(
                f"{rule.where}{',' if rule.via else ''} runs {rule.module_name} before "
                "qmfa's lines: it sets the password the helper would then receive; comment "
                "out that line (or the @include common-auth that brings it)"
            )
    findings += _block_findings(rules[block_at:], kind)
    return findings


def auth_rules(
    pam_dir: Path, service: str, problems: list[str], depth: int = 0, via: str = ""
) -> list[PamRule]:
    """The auth rules PAM runs for ``service``, in order, includes expanded; an included
    file that is not there is added to ``problems``."""
    if depth > MAX_INCLUDE_DEPTH:
        raise PamFileError(f"{pam_dir / service}: includes nest deeper than {MAX_INCLUDE_DEPTH}")
    path = pam_dir / service
    text = read_installed(path)
    if text is None:
        problems.append(f"{path}{via}{',' if via else ''} is not there: PAM refuses everyone")
        return []
    rules: list[PamRule] = []
    for number, words in _pam_lines(text):
        if words[0] == "@include" and len(words) == 2:
            rules += auth_rules(
                pam_dir, words[1], problems, depth + 1, f"{via}, included by {path} line {number}"
            )
            continue
        if words[0].lstrip("-") != "auth" or len(words) < 3:
            continue
        control, rest = _control_and_rest(words[1:])
        if control in ("include", "substack") and rest:
            rules += auth_rules(
                pam_dir, rest[0], problems, depth + 1, f"{via}, included by {path} line {number}"
            )
            continue
        if rest:
            rules.append(PamRule(path, number, via, control, rest[0], tuple(rest[1:])))
    return rules


def _pam_lines(text: str) -> Iterator[tuple[int, list[str]]]:
    """(line number, words) of each rule: comments dropped, continuation lines joined."""
    pending = ""
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0]
        if not pending:
            start = number
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        words = (pending + line).split()
        pending = ""
        if words:
            yield start, words


def _control_and_rest(words: list[str]) -> tuple[str, list[str]]:
    if words[0].startswith("["):
        # A bracketed control may hold spaces: "[success=1 default=ignore]".
        for end, word in enumerate(words):
            if word.endswith("]"):
                return " ".join(words[: end + 1]), words[end + 1 :]
    return words[0], words[1:]


def _helper_step(rule: PamRule) -> str | None:
    if rule.module_name != "pam_exec.so" or stack.HELPER_MODULE not in rule.arguments:
        return None
    index = rule.arguments.index(stack.HELPER_MODULE)
    return rule.arguments[index + 1] if index + 1 < len(rule.arguments) else None


def _block_findings(rules: list[PamRule], kind: stack.Service) -> list[str]:
    """Findings on the rules from qmfa's first line on: are they setup's, unchanged?"""
    first = rules[0]
    installation = _installation_of(first, kind)
    if installation is None:
        return [
            f"{first.where}: qmfa's helper line cannot be read; write the lines of "
            "`qmfa pam setup` again"
        ]
    expected = _block_rules(installation, kind, first)
    actual = [(rule.control, rule.module, rule.arguments) for rule in rules[: len(expected)]]
    findings = []
    for index, want in enumerate(expected):
        if index >= len(actual) or actual[index] != want:
            where = rules[index].where if index < len(rules) else f"after {rules[-1].where}"
            findings.append(
                f"{where}: qmfa's lines are not as `qmfa pam setup` writes them (changed, "
                "missing or out of order); write them again"
            )
            break
    findings += installation_findings(installation)
    return findings


def _block_rules(
    installation: stack.Installation, kind: stack.Service, first: PamRule
) -> list[tuple[str, str, tuple[str, ...]]]:
    if "/" in first.module:
        installation = replace(installation, module_dir=Path(first.module).parent)
    block = stack.auth_block(installation, service=kind)
    expected = []
    for _, words in _pam_lines(block):
        control, rest = _control_and_rest(words[1:])
        expected.append((control, rest[0], tuple(rest[1:])))
    return expected


def _installation_of(rule: PamRule, kind: stack.Service) -> stack.Installation | None:
    """The installation a helper line names (what setup would have been given)."""
    words = list(rule.arguments)
    command_at = next((index for index, word in enumerate(words) if word.startswith("/")), None)
    if command_at is None:
        return None
    command = words[command_at:]
    try:
        separator = command.index("--")
        reuid = next(word for word in command if word.startswith("--reuid="))
        helper = command[separator + 1 :]
        python = helper[0]
        options = helper[helper.index(stack.HELPER_MODULE) + 2 :]
        timeout_seconds = int(command[3])
    except (ValueError, StopIteration, IndexError):
        return None
    values: dict[str, str] = {}
    flags: set[str] = set()
    index = 0
    while index < len(options):
        option = options[index]
        if option in ("--service-kind", "--database", "--key-file", "--host"):
            if index + 1 >= len(options):
                return None
            values[option] = options[index + 1]
            index += 2
        else:
            flags.add(option)
            index += 1
    if "--database" not in values or values.get("--service-kind") != kind:
        return None
    return stack.Installation(
        python=Path(python),
        service_account=reuid.partition("=")[2],
        database=values["--database"],
        key_file=Path(values["--key-file"]) if "--key-file" in values else None,
        timeout_seconds=timeout_seconds,
        demand_code="--demand-code" in flags,
        host=values.get("--host"),
        timeout=Path(command[0]),
        setpriv=Path(command[4]) if len(command) > 4 else Path(),
    )


# ------------------------------------------------------- check: files and their owners


@functools.cache  # the same installation stands in sshd's, sudo's and sudo-i's files
def installation_findings(installation: stack.Installation) -> tuple[str, ...]:
    findings = []
    for program in (installation.timeout, installation.setpriv):
        findings += _root_only_path(program, "a program PAM runs as root")
    findings += _root_only_path(installation.python, "the helper's python")
    venv = installation.python.parent.parent
    if (venv / "pyvenv.cfg").is_file():
        findings += _root_only_tree(venv)
    findings += _database_findings(installation)
    return tuple(findings)


def _root_only_path(path: Path, what: str) -> list[str]:
    """Findings on ``path`` (and what it links to) and every directory above it: each
    must be root's and writable by nobody else, or that somebody can be root."""
    if not path.is_absolute():
        return [f"{what} {path} is not an absolute path"]
    if not os.path.lexists(path):
        return [f"{what} {path} is not there"]
    findings = []
    for chain in (path, path.resolve()):
        for part in (chain, *chain.parents):
            finding = _root_only(part, what)
            if finding is not None and finding not in findings:
                findings.append(finding)
    return findings


def _root_only(path: Path, what: str) -> str | None:
    try:
        status = path.lstat()
    except OSError as error:
        return f"{path} ({what}) cannot be read: {error.strerror}"
    if stat.S_ISLNK(status.st_mode):
        return None  # a link's own mode means nothing; its target is checked
    if status.st_uid != 0:
        return f"{path} ({what}) belongs to {_user_name(status.st_uid)}, not root: chown root"
    if status.st_mode & 0o022:
        return (
            f"{path} ({what}) may be changed by others (mode {stat.S_IMODE(status.st_mode):04o}): "
            "chmod go-w"
        )
    return None


def _root_only_tree(venv: Path) -> list[str]:
    findings = []
    for directory, names, files in os.walk(venv):
        for name in [*names, *files]:
            finding = _root_only(Path(directory) / name, "in the helper's virtual environment")
            if finding is not None:
                findings.append(finding)
                if len(findings) >= MAX_TREE_FINDINGS:
                    return [*findings, f"(more in {venv}: chown -R root, chmod -R go-w)"]
    return findings


def _database_findings(installation: stack.Installation) -> list[str]:
    from qmfa_tui.database_url import backend_of, split, sqlite_file

    account = installation.service_account
    try:
        owner = pwd.getpwnam(account)
    except KeyError:
        return [f"the service account {account} does not exist: useradd --system {account}"]
    if owner.pw_uid == 0:
        return [f"the helper runs as {account}, which is root: give it an account of its own"]
    groups = {owner.pw_gid, *(group.gr_gid for group in grp.getgrall() if account in group.gr_mem)}
    findings = []
    try:
        parts = split(installation.database)
        backend = backend_of(installation.database)
    except StorageError as error:
        return [error.message]
    if parts.password is not None or "password" in parse_qs(parts.query):
        findings.append(
            "the database URL in the PAM file carries a password, and PAM files are "
            "world-readable: use the service account's ~/.pgpass or peer authentication"
        )
    key = installation.key_file
    if backend == "sqlite":
        database = sqlite_file(installation.database)
        findings += _private_file_findings(database, "the database", owner.pw_uid, groups)
        if database.parent.is_dir() and database.parent.stat().st_uid != owner.pw_uid:
            findings.append(
                f"{database.parent} is not {account}'s: SQLite writes its journal beside the "
                f"database; chown {account} {database.parent}"
            )
        key = key or database.with_suffix(".key")
    if key is None:
        findings.append("the helper is given no --key-file: write the lines of setup again")
    else:
        findings += _private_file_findings(key, "the key file", owner.pw_uid, groups)
    return findings


def _private_file_findings(path: Path, what: str, uid: int, groups: set[int]) -> list[str]:
    account = _user_name(uid)
    try:
        status = path.lstat()
    except FileNotFoundError:
        return [f"{what} {path} is not there"]
    except OSError as error:
        return [f"{what} {path} cannot be read: {error.strerror}"]
    findings = []
    if not stat.S_ISREG(status.st_mode):
        findings.append(f"{what} {path} is not a plain file (a link or else): use the file itself")
    if status.st_uid != uid:
        findings.append(
            f"{what} {path} belongs to {_user_name(status.st_uid)}: chown {account} {path}"
        )
    if status.st_mode & 0o077:
        findings.append(
            f"{what} {path} may be read by others (mode {stat.S_IMODE(status.st_mode):04o}): "
            f"chmod 0600 {path}"
        )
    if not status.st_mode & 0o400:
        findings.append(f"{what} {path} cannot be read by its owner: chmod 0600 {path}")
    for parent in path.parents:
        try:
            above = parent.stat()
        except OSError:
            continue
        if above.st_uid == uid:
            bits = 0o100
        elif above.st_gid in groups:
            bits = 0o010
        else:
            bits = 0o001
        if not above.st_mode & bits:
            findings.append(f"{account} cannot reach {what} through {parent}: chmod or chown it")
            break
    return findings


def _user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"
