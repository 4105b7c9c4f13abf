"""`qmfa pam setup`: the files that put qmfa's code on ssh and sudo.

It reads the installed PAM files (never writes them): the file it offers for a service
is the installed one with ``@include common-auth`` commented out and qmfa's block
(pam/stack.py) in its place, so rolling back is putting the original back.
"""

from __future__ import annotations

import argparse
import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs

from qmfa_tui.cli.common import UsageError, url_from_args
from qmfa_tui.cli.pam import (
    BREAKGLASS_GROUP,
    DROP_IN,
    FILE_MODE,
    SUDO_SERVICES,
    SUDOERS_DROP_IN,
    SUDOERS_MODE,
    read_installed,
)
from qmfa_tui.errors import StorageError
from qmfa_tui.pam import stack

_INCLUDE_COMMON_AUTH = re.compile(r"^\s*@include\s+common-auth\s*$")


@dataclass(frozen=True)
class GeneratedFile:
    relative_path: str  # under the --write directory
    installed_path: str  # where it goes on this host
    content: str
    mode: int
    note: str


def run_setup(args: argparse.Namespace) -> int:
    installation = installation_from_args(args)
    files = generated_files(installation, args.pam_dir)
    if args.write is None:
        for generated in files:
            print(f"# ===== {generated.installed_path} ({generated.note})")
            print(generated.content, end="")
            print()
        print(_next_steps(files, None), end="")
        return 0
    written = write_files(args.write, files, force=args.force)
    for path in written:
        print(f"Wrote {path}")
    print(_next_steps(files, args.write), end="")
    return 0


def installation_from_args(args: argparse.Namespace) -> stack.Installation:
    """The installation the arguments describe, or a UsageError saying what cannot be."""
    from qmfa_tui.database_url import backend_of, split, sqlite_file

    url = url_from_args(args, create=True)
    try:
        parts = split(url)
        backend = backend_of(url)
    except StorageError as error:
        raise UsageError(error.message) from None
    if backend is None:
        raise UsageError("--database must be sqlite:///PATH or postgresql://USER@HOST/NAME.")
    if parts.password is not None or "password" in parse_qs(parts.query):
        raise UsageError(
            "the database URL carries a password, and PAM files are world-readable: "
            "give the service account a ~/.pgpass (0600) or peer authentication, and a "
            "URL without the password."
        )
    key_file = getattr(args, "key_file", None) or os.environ.get("QMFA_KEY_FILE")
    if backend == "sqlite":
        database_path = sqlite_file(url).absolute()
        url = f"sqlite:///{database_path}"
        key_path = Path(key_file).absolute() if key_file else database_path.with_suffix(".key")
    elif key_file:
        key_path = Path(key_file).absolute()
    else:
        raise UsageError(
            "with PostgreSQL give --key-file: the path of the instance key the service "
            "account reads on this host."
        )
    installation = stack.Installation(
        python=args.python.absolute(),
        service_account=args.service_account,
        database=url,
        key_file=key_path,
        timeout_seconds=args.timeout,
        demand_code=args.demand_code,
        host=args.host,
    )
    try:
        stack.helper_command(installation, "verify", service="sshd")
    except stack.UnsafeValue as error:
        raise UsageError(str(error)) from None
    return installation


def generated_files(installation: stack.Installation, pam_dir: Path) -> list[GeneratedFile]:
    files = [
        GeneratedFile(
            DROP_IN,
            f"/etc/ssh/{DROP_IN}",
            sshd_drop_in(),
            FILE_MODE,
            "read first by Debian's sshd_config: the first value wins",
        ),
        GeneratedFile(
            "pam.d/sshd",
            "/etc/pam.d/sshd",
            guarded_pam_file(read_installed(pam_dir / "sshd"), installation, "sshd"),
            FILE_MODE,
            "replaces the file: @include common-auth commented out, the key is the first factor",
        ),
    ]
    for service in SUDO_SERVICES:
        installed = read_installed(pam_dir / service)
        if installed is None:
            continue  # no sudo here
        files.append(
            GeneratedFile(
                f"pam.d/{service}",
                f"/etc/pam.d/{service}",
                guarded_pam_file(installed, installation, "sudo"),
                FILE_MODE,
                "replaces the file: the code replaces the Unix password",
            )
        )
    if any(generated.relative_path == "pam.d/sudo" for generated in files):
        files.append(
            GeneratedFile(
                SUDOERS_DROP_IN,
                f"/etc/{SUDOERS_DROP_IN}",
                sudoers_drop_in(),
                SUDOERS_MODE,
                "sudo's prompt names the code; check it with visudo -cf",
            )
        )
    return files


def sshd_drop_in() -> str:
    return f"""\
# qmfa two-step verification for ssh (written by `qmfa pam setup`): a key, then a code.
UsePAM yes
KbdInteractiveAuthentication yes
PasswordAuthentication no
AuthenticationMethods publickey,keyboard-interactive:pam

# Break-glass, for when qmfa cannot answer: members of {BREAKGLASS_GROUP} log in with a
# key alone, ideally a hardware (sk-) key kept in a safe. Every such login shows in
# sshd's log as "Accepted publickey" with no keyboard-interactive step after it.
# To use it: groupadd {BREAKGLASS_GROUP}, add the few people, uncomment these lines.
#Match Group {BREAKGLASS_GROUP}
#    AuthenticationMethods publickey
#    PubkeyAcceptedAlgorithms sk-ssh-ed25519@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com
"""


def sudoers_drop_in() -> str:
    return """\
# qmfa two-step verification for sudo (written by `qmfa pam setup`): the prompt asks for
# the code, which replaces the Unix password.
Defaults passprompt="[sudo] qmfa security code for %p: "
"""


def guarded_pam_file(
    installed: str | None, installation: stack.Installation, service: stack.Service
) -> str:
    """``installed`` with qmfa's block where ``@include common-auth`` was (commented out),
    or where an earlier block was; with neither, the block comes first."""
    block = stack.auth_block(installation, service=service)
    why = (
        "the SSH key is the first factor, qmfa's code the second"
        if service == "sshd"
        else "qmfa's code replaces the Unix password"
    )
    if installed is None:
        return (
            "# No such file was installed here: these are the auth lines; the account,\n"
            "# session and password lines of the distribution's file go after them.\n"
            + block
            + "@include common-account\n@include common-session\n@include common-password\n"
        )
    lines = installed.splitlines(keepends=True)
    if stack.BEGIN_MARK + "\n" in lines:
        start = lines.index(stack.BEGIN_MARK + "\n")
        end = next(
            (
                index
                for index in range(start, len(lines))
                if lines[index].startswith(stack.END_MARK)
            ),
            start,
        )
        return "".join(lines[:start]) + block + "".join(lines[end + 1 :])
    for index, line in enumerate(lines):
        if _INCLUDE_COMMON_AUTH.match(line):
            replaced = f"# {line.strip()}  # commented out by qmfa: {why}\n"
            return "".join(lines[:index]) + replaced + block + "".join(lines[index + 1 :])
    first_rule = next(
        (index for index, line in enumerate(lines) if line.strip() and not line.startswith("#")),
        len(lines),
    )
    return "".join(lines[:first_rule]) + block + "".join(lines[first_rule:])


def write_files(directory: Path, files: list[GeneratedFile], *, force: bool) -> list[Path]:
    """Write every file under ``directory``; none when one is there already (unless force)."""
    targets = [directory / generated.relative_path for generated in files]
    if not force:
        for target in targets:
            if os.path.lexists(target):
                raise UsageError(f"{target} is there already: --force writes over it")
    written = []
    for generated, target in zip(files, targets, strict=True):
        try:
            target.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
            _write_public_file(target, generated.content, generated.mode)
        except OSError as error:
            raise UsageError(f"cannot write {target}: {error.strerror}") from None
        written.append(target)
    return written


def _write_public_file(path: Path, content: str, mode: int) -> None:
    """``content`` at ``path`` with ``mode`` from its first byte, through a new file renamed
    into place: never through a symbolic link, never half written."""
    temporary = path.with_name(f".{path.name}.qmfa-{os.getpid()}")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(temporary, flags, mode)
    try:
        os.fchmod(fd, mode)  # the umask only takes bits away
        os.write(fd, content.encode("utf-8"))
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        temporary.unlink(missing_ok=True)
        raise
    os.close(fd)
    os.replace(temporary, path)


def _next_steps(files: list[GeneratedFile], written_to: Path | None) -> str:
    source = str(written_to) if written_to is not None else "<the files above>"
    lines = [
        "# Next, as root: keep copies of the files these replace (rolling back is putting "
        "them back), then",
    ]
    for generated in files:
        lines.append(
            f"#   install -m {generated.mode:o} {source}/{generated.relative_path} "
            f"{generated.installed_path}"
        )
    lines += [
        "#   sshd -t && qmfa pam check --user SOMEONE   # then reload sshd; keep a root shell "
        "open until a new login works",
        "# Every person needs a device registered in qmfa (the app, or `qmfa serve`) before "
        "2FA is made mandatory.",
    ]
    return "\n".join(lines) + "\n"
