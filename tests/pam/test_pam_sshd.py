"""A real sshd on loopback, guarded by the files of `qmfa pam setup`; the real ssh client.

The sshd is the machine's binary under a name of its own (OpenSSH 9.2 names its PAM
service after its binary: sshd-qmfa-test-XXXXXX reads /etc/pam.d/sshd-qmfa-test-XXXXXX,
a file of the test's, removed at the end), on a free loopback port, with its own host
key, configuration (which includes setup's sshd drop-in) and authorized keys.
The client answers keyboard-interactive through SSH_ASKPASS, a script that writes what
it was asked to a file and prints the answer a test gave it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from pam_host import (
    CLIENT_SECONDS,
    SSHD,
    Client,
    Host,
    Sshd,
    account_tool,
    free_port,
    guarded_host,
    missing_requirements,
    new_client,
    running,
    started_sshd,
    unique,
    write_config,
)

from qmfa_tui.pam import stack

QMFA = [sys.executable, "-m", "qmfa_tui"]

_missing = missing_requirements(str(SSHD), "/usr/bin/ssh", "/usr/bin/sftp", "/usr/bin/ssh-keygen")
pytestmark = [
    pytest.mark.skipif(_missing is not None, reason=_missing or ""),
    pytest.mark.long,
]


@pytest.fixture(scope="module")
def host() -> Iterator[Host]:
    with guarded_host(QMFA) as guarded:
        yield guarded


@pytest.fixture(scope="module")
def sshd(host: Host) -> Iterator[Sshd]:
    with started_sshd(host) as started:
        yield started


@pytest.fixture
def client(sshd: Sshd) -> Client:
    return new_client(sshd)


def test_a_key_and_a_code_log_in_and_run_a_command(client):
    client.sshd.host.forget_helper_ids()
    client.answer(client.person.code_now())
    result = client.ssh("echo", "logged-in-as", "$(id -un)")
    assert result.returncode == 0, (result.stderr, client.sshd.log_text()[-3000:])
    assert result.stdout.strip() == f"logged-in-as {client.person.name}"
    # The person read the helper's instructions above pam_exec's prompt.
    assert f"{stack.PROMPT_NOTICE}\nPassword: " in client.prompts()
    accepted = f"Accepted keyboard-interactive/pam for {client.person.name} from 127.0.0.1"
    assert client.sshd.logged(accepted)
    # The audit names this host, the service, the client's address and its key.
    listed = subprocess.run(
        ["ssh-keygen", "-l", "-f", f"{client.key}.pub"],
        capture_output=True, text=True, check=True, timeout=CLIENT_SECONDS,
    )  # fmt: skip
    fingerprint = listed.stdout.split()[1]
    [(action, origin)] = client.sshd.host.audit(client.person.name)
    assert action == "pam.verified"
    assert origin.startswith(f"host guarded-test-host, {client.sshd.binary.name} from 127.0.0.1")
    assert origin.endswith(f"key {fingerprint}")
    # The helper ran as the service account, without privileges, never as root or the user.
    account = client.sshd.host.service_account
    runs = client.sshd.host.helper_ids()
    assert len(runs) == 2  # exempt, then verify
    for uid, gid, _, no_new_privs, capabilities in runs:
        assert (uid, gid) == (account.pw_uid, account.pw_gid)
        assert no_new_privs == "1"
        assert int(capabilities, 16) == 0


def test_a_key_alone_does_not_log_in(client):
    client.answer("")
    result = client.ssh("echo", "should-not-run")
    assert result.returncode == 255
    assert "should-not-run" not in result.stdout
    assert "Permission denied" in result.stderr
    assert stack.PROMPT_NOTICE in client.prompts()  # the code was asked, and not given
    assert client.sshd.logged(f"Failed keyboard-interactive/pam for {client.person.name}")


def test_a_wrong_code_is_refused_and_the_reason_reaches_the_client(client):
    client.answer(client.person.wrong_code())
    result = client.ssh("echo", "should-not-run")
    assert result.returncode == 255
    assert "should-not-run" not in result.stdout
    assert "That security code is not valid." in result.stderr
    assert client.sshd.logged(f"Failed keyboard-interactive/pam for {client.person.name}")


def test_no_forwarding_and_no_sftp_without_the_code(client):
    client.answer(client.person.wrong_code())
    forward = client.run(
        "ssh",
        "-N",
        "-o",
        "ExitOnForwardFailure=yes",
        "-L",
        f"127.0.0.1:{free_port()}:127.0.0.1:{client.sshd.port}",
        f"{client.person.name}@127.0.0.1",
    )
    assert forward.returncode == 255
    assert "Permission denied" in forward.stderr
    client.answer("")
    sftp = client.run("sftp", f"{client.person.name}@127.0.0.1", stdin="ls /\nquit\n")
    assert sftp.returncode != 0
    assert "Connection closed" in sftp.stderr or "Permission denied" in sftp.stderr
    assert "bin" not in sftp.stdout
    assert client.prompts().count(stack.PROMPT_NOTICE) == 2  # each asked for the code


def check(sshd: Sshd, config: Path, *users: str) -> subprocess.CompletedProcess[str]:
    """`qmfa pam check` on this sshd: its PAM files beside setup's sudo ones."""
    pam_dir = sshd.host.root / "pam-check"
    if not pam_dir.exists():
        pam_dir.mkdir(mode=0o755)
        shutil.copyfile(sshd.pam_file, pam_dir / sshd.pam_file.name)
        for name in ("sudo", "sudo-i"):
            shutil.copyfile(sshd.host.setup_dir / "pam.d" / name, pam_dir / name)
        for common in Path("/etc/pam.d").glob("common-*"):
            shutil.copyfile(common, pam_dir / common.name)
    options = [option for user in users for option in ("--user", user)]
    return subprocess.run(
        [*QMFA, "pam", "check", "--sshd", str(sshd.binary), "--sshd-config", str(config),
         "--pam-dir", str(pam_dir), *options],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_check_passes_on_this_sshd_and_names_each_fault(sshd, client):
    good = check(sshd, sshd.config, client.person.name)
    assert good.returncode == 0, good.stdout + good.stderr
    assert "nothing wrong" in good.stdout

    sshd_dir = sshd.config.parent
    with_password = write_config(
        sshd_dir, sshd.port, sshd.host, before="PasswordAuthentication yes\n"
    )
    found = check(sshd, with_password, client.person.name)
    assert found.returncode == 1
    assert "qmfa pam check: sshd has PasswordAuthentication yes" in found.stdout

    with_match = write_config(
        sshd_dir,
        sshd.port,
        sshd.host,
        after=f"Match User {client.person.name}\n    AuthenticationMethods publickey\n",
    )
    found = check(sshd, with_match, "nobody", client.person.name)
    assert found.returncode == 1
    lines = found.stdout.splitlines()
    assert len(lines) == 1, found.stdout
    assert f"for {client.person.name} from 203.0.113.10 (a Match block)" in lines[0]
    assert "AuthenticationMethods offers publickey" in lines[0]


def test_the_break_glass_group_logs_in_with_a_key_alone_and_the_log_says_so(sshd, client):
    """The drop-in's commented Match Group block, in force: a member needs no code, and
    sshd's log shows a login by key alone; `qmfa pam check` names it for that member."""
    group = unique("qmfa-bg-")
    try:
        assert account_tool(["groupadd", group]).returncode == 0
        joined = account_tool(["usermod", "--append", "--groups", group, client.person.name])
        assert joined.returncode == 0, joined.stderr
        port = free_port()
        config = write_config(
            sshd.config.parent,
            port,
            sshd.host,
            after=f"Match Group {group}\n    AuthenticationMethods publickey\n",
        )
        log = sshd.config.parent / f"break-glass-{group}.log"
        break_glass = replace(sshd, config=config, port=port, log=log)
        with running(sshd.binary, config, port, log):
            client.answer("")
            result = replace(client, sshd=break_glass).ssh("echo", "in-by-key")
            assert result.returncode == 0, result.stderr
            assert result.stdout.strip() == "in-by-key"
            assert break_glass.logged(f"Accepted publickey for {client.person.name}")
        assert client.prompts() == ""  # no code was asked
        assert "keyboard-interactive" not in log.read_text()
        found = check(sshd, config, client.person.name)
        assert found.returncode == 1
        assert f"for {client.person.name} from 203.0.113.10 (a Match block)" in found.stdout
    finally:
        account_tool(["groupdel", group])
