"""`qmfa pam`: its options and limits, shared by `qmfa pam setup` (cli/pam_setup.py: the
files that put qmfa's code on ssh and sudo) and `qmfa pam check` (cli/pam_check.py: a
lint of what is in force).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from qmfa_tui.cli.common import UsageError, whole_number

DEFAULT_SERVICE_ACCOUNT = "qmfa"
DEFAULT_TIMEOUT_SECONDS = 10
MAX_TIMEOUT_SECONDS = 60  # well inside sshd's LoginGraceTime (120 s by default)
DEFAULT_PAM_DIR = Path("/etc/pam.d")
DEFAULT_SSHD = Path("/usr/sbin/sshd")
DEFAULT_SSHD_CONFIG = Path("/etc/ssh/sshd_config")
BREAKGLASS_GROUP = "qmfa-breakglass"
SUDO_SERVICES = ("sudo", "sudo-i")
# A sample client address for `sshd -T -C` (TEST-NET-3): "somebody from elsewhere".
SAMPLE_ADDRESS = "203.0.113.10"
SSHD_TEST_SECONDS = 10
MAX_INCLUDE_DEPTH = 8
MAX_PAM_FILE_BYTES = 256 * 1024
MAX_TREE_FINDINGS = 5

# Read before other drop-ins (sshd keeps the first value it reads: a 50-cloud-init.conf
# saying PasswordAuthentication yes would win over a later file), and not the qmfa.conf
# of the README's ForceCommand set-up.
DROP_IN = "sshd_config.d/00-qmfa-pam.conf"
SUDOERS_DROP_IN = "sudoers.d/qmfa"
FILE_MODE = 0o644
SUDOERS_MODE = 0o440

# Modules that ask for (or set) PAM_AUTHTOK: before qmfa's block they hand the helper the
# Unix password (pam_exec passes an existing PAM_AUTHTOK on) and take the code's prompt.
PASSWORD_MODULES = frozenset(
    {
        "pam_unix.so",
        "pam_sss.so",
        "pam_ldap.so",
        "pam_krb5.so",
        "pam_winbind.so",
        "pam_userdb.so",
        "pam_pwdfile.so",
        "pam_google_authenticator.so",
        "pam_duo.so",
        "pam_radius_auth.so",
        "pam_oath.so",
    }
)


# ---------------------------------------------------------------------------- commands


def add_command(commands: Any, common: argparse.ArgumentParser) -> None:
    from qmfa_tui.cli.pam_check import run_check
    from qmfa_tui.cli.pam_setup import run_setup

    pam = commands.add_parser(
        "pam",
        help="guard ssh and sudo with qmfa's code (PAM): write the files, check them",
        description="Guard ssh and sudo with qmfa's security code, through the stock "
        "pam_exec module.",
        epilog="examples:\n"
        "  qmfa pam setup --database sqlite:////var/lib/qmfa/qmfa.db\n"
        "  qmfa pam setup --database sqlite:////var/lib/qmfa/qmfa.db --write /root/qmfa-pam\n"
        "  qmfa pam check --user alice",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    pam_commands = pam.add_subparsers(metavar="COMMAND", required=True)
    setup = pam_commands.add_parser(
        "setup",
        parents=[common],
        help="print (or write) the sshd, PAM and sudoers files for this installation",
        description="Print the files that ask for a qmfa code after an SSH key and in "
        "place of sudo's password, for this installation (this python, this database, "
        "the service account). The PAM files are the installed ones (--pam-dir) with "
        "`@include common-auth` commented out and qmfa's lines in its place. Nothing in "
        "/etc is changed: install the files yourself (the output says how).",
        epilog="example:\n  qmfa pam setup --database sqlite:////var/lib/qmfa/qmfa.db "
        "--service-account qmfa --write /root/qmfa-pam",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    setup.add_argument(
        "--service-account",
        default=DEFAULT_SERVICE_ACCOUNT,
        metavar="NAME",
        help="the account that owns the database and the key; the helper runs as it "
        f"(default: {DEFAULT_SERVICE_ACCOUNT})",
    )
    setup.add_argument(
        "--python",
        type=Path,
        default=Path(sys.executable),
        metavar="PATH",
        help="the interpreter of the root-owned virtual environment qmfa is installed in "
        "(default: this one)",
    )
    setup.add_argument(
        "--host", metavar="NAME", help="this host's name in the audit log (default: its hostname)"
    )
    setup.add_argument(
        "--demand-code",
        action="store_true",
        help="ask everyone on this host for a code, whatever the mandatory setting",
    )
    setup.add_argument(
        "--timeout",
        type=whole_number(MAX_TIMEOUT_SECONDS),
        default=DEFAULT_TIMEOUT_SECONDS,
        metavar="S",
        help="kill the helper after S seconds: the login is refused "
        f"(default: {DEFAULT_TIMEOUT_SECONDS}, at most {MAX_TIMEOUT_SECONDS})",
    )
    setup.add_argument(
        "--pam-dir",
        type=Path,
        default=DEFAULT_PAM_DIR,
        metavar="DIR",
        help=f"where the installed PAM files are read from (default: {DEFAULT_PAM_DIR})",
    )
    setup.add_argument(
        "--write",
        type=Path,
        metavar="DIR",
        help="write the files under DIR (sshd_config.d/, pam.d/, sudoers.d/) instead of "
        "printing them",
    )
    setup.add_argument(
        "--force", action="store_true", help="with --write: replace files already there"
    )
    setup.set_defaults(handler=run_setup)

    check = pam_commands.add_parser(
        "check",
        help="say what is wrong in the sshd and PAM configuration in force",
        description="Check what is in force: sshd's effective settings (sshd -T, and "
        "sshd -T -C for a sample user, which shows Match blocks), the PAM files of sshd, "
        "sudo and sudo-i, the helper's interpreter and the key file. One line per "
        "finding; exit 0 only when there is none.",
        epilog="example:\n  qmfa pam check --user alice",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    check.add_argument(
        "--sshd",
        type=Path,
        default=DEFAULT_SSHD,
        metavar="PATH",
        help=f"the sshd binary; its name is its PAM service's (default: {DEFAULT_SSHD})",
    )
    check.add_argument(
        "--sshd-config",
        type=Path,
        default=DEFAULT_SSHD_CONFIG,
        metavar="PATH",
        help=f"sshd's configuration file (default: {DEFAULT_SSHD_CONFIG})",
    )
    check.add_argument(
        "--pam-dir",
        type=Path,
        default=DEFAULT_PAM_DIR,
        metavar="DIR",
        help=f"the PAM configuration directory (default: {DEFAULT_PAM_DIR})",
    )
    check.add_argument(
        "--user",
        action="append",
        metavar="NAME",
        help="a sample user for `sshd -T -C` (repeat for more; default: $SUDO_USER, else nobody)",
    )
    check.add_argument(
        "--address",
        default=SAMPLE_ADDRESS,
        metavar="ADDR",
        help=f"the sample user's client address (default: {SAMPLE_ADDRESS})",
    )
    check.set_defaults(handler=run_check)


def read_installed(path: Path) -> str | None:
    """An installed PAM file's text (bounded), or None when there is none."""
    try:
        with path.open("rb") as file:
            data = file.read(MAX_PAM_FILE_BYTES + 1)
    except FileNotFoundError:
        return None
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror}") from None
    if len(data) > MAX_PAM_FILE_BYTES:
        raise UsageError(f"{path} is larger than {MAX_PAM_FILE_BYTES // 1024} KiB: not a PAM file")
    return data.decode("utf-8", "replace")
