"""The lines that put qmfa's second factor in a PAM service (sshd, sudo), and sshd's drop-in.

The stock ``pam_exec`` runs the helper (``python -I -m qmfa_tui.pam``) twice: ``exempt``
ends the block with success when policy asks this user for no code now; otherwise
``pam_echo`` says what to type, ``pam_exec expose_authtok`` asks for it (its fixed
"Password: " prompt) and ``verify`` checks it. Each helper runs under ``timeout -s KILL``
(pam_exec has no timeout of its own) and ``setpriv`` (as the service account that owns
the database and the key, never root, never the user logging in).

Control values, per Linux-PAM 1.5.2:
- pam_exec's setcred returns PAM_IGNORE, so ``ignore=N`` jumps like ``success=N``: a
  setcred pass skips pam_deny as an accepted login did.
- a helper's non-zero exit is PAM_SYSTEM_ERR, on which sshd drops the message the helper
  printed; ``default=ignore`` then ``requisite pam_deny`` turns it into PAM_AUTH_ERR, so
  the person reads why.
- pam_exec sends PAM_AUTHTOK when a module before it set one (pam_unix does), and
  pam_unix reuses one set before it: one prompt cannot feed both. The block therefore
  replaces ``@include common-auth`` (sshd: the key is the first factor; sudo: the code
  replaces the password) and must never follow a module that sets PAM_AUTHTOK, or the
  helper would receive the Unix password.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

HELPER_MODULE = "qmfa_tui.pam"
PROMPT_NOTICE = "Enter your qmfa security code or a recovery code."
BEGIN_MARK = "# qmfa two-step verification: begin (qmfa pam setup)"
END_MARK = "# qmfa two-step verification: end"

Step = Literal["exempt", "verify"]
Service = Literal["sshd", "sudo"]


@dataclass(frozen=True)
class Installation:
    """Where this qmfa lives and whom its helper runs as."""

    python: Path  # the root-owned virtual environment's interpreter
    service_account: str  # owns the database and the key file
    database: str  # a URL without a password: PAM files are world-readable
    key_file: Path | None = None
    timeout_seconds: int = 10
    demand_code: bool = False  # every user of this host needs a code, whatever the policy
    host: str | None = None  # the name this host has in the audit log (default: its hostname)
    timeout: Path = Path("/usr/bin/timeout")
    setpriv: Path = Path("/usr/bin/setpriv")
    module_dir: Path | None = None  # None: the system's; tests give pam_wrapper absolute paths


class UnsafeValue(ValueError):
    """A value that cannot go on a PAM line as one word."""


def _word(value: str) -> str:
    # PAM splits arguments on white space (brackets quote, but nothing else reads them so).
    if not value or any(ch.isspace() or ch in "[]#\\\"'" for ch in value):
        raise UnsafeValue(f"{value!r} cannot stand on a PAM line: no spaces or quotes")
    return value


def helper_command(installation: Installation, step: Step, *, service: Service) -> list[str]:
    """The command pam_exec runs for ``step``: timeout, then setpriv, then the helper."""
    account = _word(installation.service_account)
    command = [
        str(installation.timeout),
        "-s",
        "KILL",
        str(installation.timeout_seconds),
        str(installation.setpriv),
        f"--reuid={account}",
        f"--regid={account}",
        "--init-groups",
        "--inh-caps=-all",
        "--no-new-privs",
        "--",
        str(installation.python),
        "-I",
        "-m",
        HELPER_MODULE,
        step,
        "--service-kind",
        service,
        "--database",
        installation.database,
    ]
    if installation.key_file is not None:
        command += ["--key-file", str(installation.key_file)]
    if installation.host is not None:
        command += ["--host", installation.host]
    if installation.demand_code:
        command.append("--demand-code")
    return [_word(part) for part in command]


def _module(installation: Installation, name: str) -> str:
    if installation.module_dir is None:
        return name
    return _word(str(installation.module_dir / name))


def auth_block(installation: Installation, *, service: Service) -> str:
    """The ``auth`` lines for /etc/pam.d/``service``, between marks, ending in newline."""
    exempt = " ".join(helper_command(installation, "exempt", service=service))
    verify = " ".join(helper_command(installation, "verify", service=service))
    exec_module = _module(installation, "pam_exec.so")
    lines = [
        BEGIN_MARK,
        f"auth [success=3 ignore=3 default=ignore] {exec_module} quiet stdout {exempt}",
        f"auth optional {_module(installation, 'pam_echo.so')} {PROMPT_NOTICE}",
        f"auth [success=1 ignore=1 default=ignore] {exec_module} quiet stdout expose_authtok "
        f"{verify}",
        f"auth requisite {_module(installation, 'pam_deny.so')}",
        f"auth required {_module(installation, 'pam_permit.so')}",
        END_MARK,
    ]
    return "\n".join(lines) + "\n"
