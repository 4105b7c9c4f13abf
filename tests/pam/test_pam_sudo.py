"""sudo guarded by the pam.d/sudo of `qmfa pam setup`, for a throw-away user.

The machine's /etc/pam.d/sudo and /etc/sudoers are never changed: each sudo runs in a
mount namespace of its own (`unshare --mount`) where setup's file is bind-mounted over
/etc/pam.d/sudo and a sudoers file of the test's over /etc/sudoers; the user types the
code on sudo's standard input (sudo -S).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pam_host import Host, Person, guarded_host, missing_requirements

SUDO = "/usr/bin/sudo"
QMFA = [sys.executable, "-m", "qmfa_tui"]
SUDO_SECONDS = 60

_missing = missing_requirements(SUDO, "/usr/bin/unshare", "/usr/bin/mount")
pytestmark = [
    pytest.mark.skipif(_missing is not None, reason=_missing or ""),
    pytest.mark.long,
]

IN_NAMESPACE = """\
mount --make-rprivate / &&
mount --bind "$1" /etc/pam.d/sudo &&
mount --bind "$2" /etc/sudoers &&
exec setpriv --reuid="$3" --regid="$3" --init-groups -- /usr/bin/sudo -S -k -- /usr/bin/id -un
"""


@dataclass
class Sudo:
    host: Host
    person: Person
    pam_file: Path
    sudoers: Path

    def run(self, typed: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["/usr/bin/unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c",
             IN_NAMESPACE, "sh", str(self.pam_file), str(self.sudoers), self.person.name],
            input=typed + "\n",
            capture_output=True,
            text=True,
            errors="replace",
            env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C"},
            timeout=SUDO_SECONDS,
        )  # fmt: skip

    def audit(self) -> list[str]:
        """The actions of this person's PAM events, in order."""
        return [action for action, _ in self.host.audit(self.person.name)]


@pytest.fixture(scope="module")
def host() -> Iterator[Host]:
    with guarded_host(QMFA) as guarded:
        yield guarded


@pytest.fixture
def sudo(host: Host) -> Sudo:
    person = host.add_person()
    folder = host.root / f"sudo-{person.name}"
    folder.mkdir(mode=0o755)
    sudoers = folder / "sudoers"
    sudoers.write_text(
        "Defaults env_reset\n"
        "Defaults passwd_tries=1\n"
        "Defaults !lecture\n"
        "Defaults timestamp_timeout=0\n"
        + (host.setup_dir / "sudoers.d" / "qmfa").read_text()
        + "root ALL=(ALL:ALL) ALL\n"
        + f"{person.name} ALL=(root) /usr/bin/id\n"
    )
    sudoers.chmod(0o440)
    return Sudo(host, person, host.setup_dir / "pam.d" / "sudo", sudoers)


def test_sudo_asks_for_the_code_and_runs_the_command_with_it(sudo):
    sudo.host.forget_helper_ids()
    result = sudo.run(sudo.person.code_now())
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "root"
    # sudo runs PAM silent (its pam_silent default), so pam_echo's notice is not shown:
    # setup's sudoers.d/qmfa names the code in sudo's own prompt instead.
    assert f"[sudo] qmfa security code for {sudo.person.name}: " in result.stderr
    assert "password" not in result.stderr.lower()
    assert sudo.audit() == ["pam.verified"]
    # The helper ran as the service account: not root, not the person, no privileges left.
    account = sudo.host.service_account
    runs = sudo.host.helper_ids()
    assert len(runs) == 2  # exempt, then verify
    for uid, gid, groups, no_new_privs, capabilities in runs:
        assert (uid, gid) == (account.pw_uid, account.pw_gid)
        assert groups == str(account.pw_gid)
        assert no_new_privs == "1"
        assert int(capabilities, 16) == 0


def test_a_wrong_code_is_refused_with_its_reason(sudo):
    result = sudo.run(sudo.person.wrong_code())
    assert result.returncode == 1
    assert "root" not in result.stdout
    assert "That security code is not valid." in result.stdout + result.stderr
    assert sudo.audit() == ["pam.refused"]


def test_the_unix_password_is_no_code(sudo):
    """The block replaced common-auth: the password is not asked, and is refused as a code."""
    sudo.host.forget_helper_ids()
    result = sudo.run("correct horse battery")
    assert result.returncode == 1
    assert "root" not in result.stdout
    assert result.stderr.startswith(f"[sudo] qmfa security code for {sudo.person.name}: ")
    assert result.stderr.count("[sudo]") == 1  # asked once: no Unix password prompt after
    assert len(sudo.host.helper_ids()) == 2  # the helper checked it, as a code, and refused
