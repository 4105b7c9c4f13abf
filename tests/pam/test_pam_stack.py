"""The real pam_exec stack ``stack.auth_block`` writes, run by libpam through pam_wrapper.

pypamtest (Debian's python3-pypamtest, for /usr/bin/python3.11) drives libpam in a child
process started with LD_PRELOAD=libpam_wrapper.so, which reads our service file instead of
/etc/pam.d. pam_exec then runs ``timeout`` -> ``setpriv`` -> the helper for real: as root,
setpriv drops to a throw-away system account this module creates (and removes) that owns
the database and its key. The helper runs in a root-owned virtual environment holding
qmfa and its runtime dependencies (pam_host.build_venv, built once for the module): the
test venv may sit where the service account cannot reach it (/root, or .ci/run's 0700
mktemp directory).
"""

from __future__ import annotations

import json
import os
import pwd
import secrets
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pam_host import build_venv, shared_python
from pam_setup import Guarded, make_database

from qmfa_tui.pam import helper
from qmfa_tui.pam.stack import PROMPT_NOTICE, Installation, auth_block

PAM_WRAPPER = Path("/usr/lib/x86_64-linux-gnu/libpam_wrapper.so")
MODULE_DIR = Path("/usr/lib/x86_64-linux-gnu/security")
SYSTEM_PYTHON = Path("/usr/bin/python3.11")
PAM_SUCCESS, PAM_AUTH_ERR = 0, 7

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not PAM_WRAPPER.exists(), reason="libpam-wrapper is not installed"),
    pytest.mark.skipif(
        not (MODULE_DIR / "pam_exec.so").exists(), reason="Linux-PAM's pam_exec is missing"
    ),
    pytest.mark.skipif(
        subprocess.run(
            [str(SYSTEM_PYTHON), "-c", "import pypamtest"], capture_output=True
        ).returncode
        != 0
        if SYSTEM_PYTHON.exists()
        else True,
        reason="python3-pypamtest (for /usr/bin/python3.11) is not installed",
    ),
    pytest.mark.skipif(os.geteuid() != 0, reason="dropping to a service account needs root"),
    pytest.mark.skipif(shutil.which("useradd") is None, reason="no useradd"),
    pytest.mark.skipif(
        os.geteuid() == 0 and shared_python() is None,
        reason="no python of this version that the service account may run",
    ),
]

# Runs in the pypamtest interpreter: one PAM operation per case, each with its expected
# return; prints the conversation's messages, or the mismatch pypamtest reports.
_DRIVE = """
import json, sys
import pypamtest
request = json.loads(sys.argv[1])
cases = [
    pypamtest.TestCase(getattr(pypamtest, name), expected_rv=rv)
    for name, rv in request["cases"]
]
try:
    result = pypamtest.run_pamtest(request["user"], request["service"], cases, request["answers"])
except pypamtest.PamTestError as error:
    print(json.dumps({"mismatch": str(error)}))
else:
    print(json.dumps({"info": list(result.info), "errors": list(result.errors)}))
"""


@dataclass(frozen=True)
class Stack:
    guarded: Guarded
    account: str
    service_dir: Path
    installation: Installation

    def write(self, service: str = "sshd", **changes: object) -> str:
        """Write the service file (``service`` as pam_exec's kind) and return its name."""
        from dataclasses import replace

        installation = replace(self.installation, **changes)  # type: ignore[arg-type]
        name = f"qmfa-test-{service}"
        (self.service_dir / name).write_text(auth_block(installation, service=service))  # type: ignore[arg-type]
        return name

    def authenticate(
        self,
        answer: str,
        *,
        expect: int,
        user: str = "alice",
        service: str = "sshd",
        setcred: bool = False,
        timeout: float = 60,
        **changes: object,
    ) -> dict[str, object]:
        name = self.write(service, **changes)
        cases = [["PAMTEST_AUTHENTICATE", expect]]
        if setcred:
            cases.append(["PAMTEST_SETCRED", PAM_SUCCESS])
        request = {"user": user, "service": name, "cases": cases, "answers": [answer]}
        environment = {
            "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
            "LD_PRELOAD": str(PAM_WRAPPER),
            "PAM_WRAPPER": "1",
            "PAM_WRAPPER_SERVICE_DIR": str(self.service_dir),
        }
        # pypamtest sets no PAM_RHOST, PAM_TTY or PAM environment (no SSH_AUTH_INFO_0).
        done = subprocess.run(
            [str(SYSTEM_PYTHON), "-I", "-c", _DRIVE, json.dumps(request)],
            env=environment,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert done.returncode == 0, done.stderr
        result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
        return result


@pytest.fixture(scope="module")
def helper_python() -> Iterator[Path]:
    """The interpreter of a root-owned venv the service account can run and read."""
    top = Path(tempfile.mkdtemp(prefix="qmfa-pam-venv-"))
    try:
        top.chmod(0o755)
        yield build_venv(top, ids_dir=top / "no-ids-recorded")
    finally:
        shutil.rmtree(top, ignore_errors=True)


@pytest.fixture
def stack(helper_python: Path) -> Iterator[Stack]:
    """A throw-away system account owning a fresh database and key; the PAM service dir."""
    account = f"qmfat{secrets.token_hex(4)}"  # never a name that exists: useradd refuses
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", account],
        check=True,
        capture_output=True,
    )
    top = Path(tempfile.mkdtemp(prefix="qmfa-pam-stack-"))
    try:
        top.chmod(0o755)
        python = helper_python
        data = top / "data"
        data.mkdir()
        guarded = make_database(data)
        entry = pwd.getpwnam(account)
        data.chmod(0o700)
        for path in [data, *data.iterdir()]:
            os.chown(path, entry.pw_uid, entry.pw_gid)
        service_dir = top / "pam.d"
        service_dir.mkdir()
        installation = Installation(
            python=python,
            service_account=account,
            database=guarded.url,
            key_file=guarded.key_file,
            host="web1",
            module_dir=MODULE_DIR,
        )
        yield Stack(guarded, account, service_dir, installation)
    finally:
        shutil.rmtree(top, ignore_errors=True)
        subprocess.run(["userdel", account], capture_output=True)


def _info(result: dict[str, object]) -> list[str]:
    assert "mismatch" not in result, result
    info = result["info"]
    assert isinstance(info, list)
    return [line.rstrip("\n") for line in info]


def test_a_code_passes_once_as_the_service_account_and_setcred_succeeds(stack):
    code = stack.guarded.code_now()
    passed = stack.authenticate(code, expect=PAM_SUCCESS, service="sudo", setcred=True)
    assert PROMPT_NOTICE in _info(passed)
    refused = stack.authenticate(code, expect=PAM_AUTH_ERR, service="sudo")
    assert "That code was already used. Wait for the next one." in _info(refused)
    # the helper ran as the service account: the database it wrote is still that account's
    owner = pwd.getpwnam(stack.account).pw_uid
    assert {p.stat().st_uid for p in stack.guarded.path.parent.iterdir()} == {owner}
    assert [row[0] for row in stack.guarded.audit()] == ["pam.verified", "pam.refused"]
    assert stack.guarded.audit()[0][3] == "host web1, qmfa-test-sudo"  # PAM_SERVICE


def test_the_helper_runs_as_the_service_account_never_root(stack):
    """A database readable by root alone: the helper, as the service account, cannot open it."""
    stack.guarded.path.chmod(0o600)
    os.chown(stack.guarded.path, 0, 0)
    result = stack.authenticate(stack.guarded.code_now(), expect=PAM_AUTH_ERR, service="sudo")
    assert helper.CANNOT_CHECK in _info(result)


def test_a_recovery_code_passes_once(stack):
    code = stack.guarded.recovery_codes[0]
    passed = stack.authenticate(code, expect=PAM_SUCCESS, service="sudo")
    assert "Recovery code accepted: 7 recovery codes left." in _info(passed)
    refused = stack.authenticate(code, expect=PAM_AUTH_ERR, service="sudo")
    assert any("already used" in line for line in _info(refused))


def test_throttled_fails_with_its_message(stack):
    for wrong in ("000000", "111111", "222222"):
        stack.authenticate(wrong, expect=PAM_AUTH_ERR, service="sudo")
    stack.guarded.hold_code_lock(600)
    result = stack.authenticate(stack.guarded.code_now(), expect=PAM_AUTH_ERR, service="sudo")
    assert "Too many failed attempts. Try again in about 10 minutes." in _info(result)


def test_no_device_passes_by_exemption_and_the_grace_notice_is_shown(stack):
    with sqlite3.connect(stack.guarded.path) as connection:
        connection.execute("UPDATE instance_settings SET mandatory = 1, grace_period_hours = 24")
    connection.close()
    result = stack.authenticate("", expect=PAM_SUCCESS, user="carol", service="sudo")
    notice = [line for line in _info(result) if line.startswith("Register a device in qmfa")]
    assert len(notice) == 1 and PROMPT_NOTICE not in _info(result)  # no code was asked


@pytest.mark.parametrize("user", ["nobody", "dave", "lena"])
def test_unknown_inactive_and_ldap_without_device_fail(stack, user):
    stack.authenticate("123456", expect=PAM_AUTH_ERR, user=user, service="sudo")


def test_grace_over_fails(stack):
    with sqlite3.connect(stack.guarded.path) as connection:
        connection.execute("UPDATE instance_settings SET mandatory = 1, grace_period_hours = 0")
    connection.close()
    stack.authenticate("123456", expect=PAM_AUTH_ERR, user="carol", service="sudo")


def test_sshd_without_a_public_key_before_fails(stack):
    """pypamtest puts nothing in the PAM environment: no SSH_AUTH_INFO_0, as after a
    password-only login. Both the exemption and the code are refused."""
    stack.authenticate(stack.guarded.code_now(), expect=PAM_AUTH_ERR, service="sshd")
    stack.authenticate("", expect=PAM_AUTH_ERR, user="carol", service="sshd")


@pytest.mark.parametrize(
    "answer",
    ["x" * 10_000, "１２３４５６", "12345 6abc!", "1" * 65],  # noqa: RUF001
    ids=["10-kB", "full-width", "junk", "65-bytes"],
)
def test_junk_fails(stack, answer):
    result = stack.authenticate(answer, expect=PAM_AUTH_ERR, service="sudo")
    assert helper.NOT_A_CODE in _info(result)


def test_a_bad_database_url_fails_within_the_time_limit(stack):
    result = stack.authenticate(
        "123456",
        expect=PAM_AUTH_ERR,
        service="sudo",
        database="postgresql://qmfa@127.0.0.1:1/qmfa",
        timeout_seconds=5,
    )
    assert helper.CANNOT_CHECK in _info(result)


def test_a_missing_or_group_readable_key_fails(stack):
    stack.guarded.key_file.chmod(0o640)
    result = stack.authenticate(stack.guarded.code_now(), expect=PAM_AUTH_ERR, service="sudo")
    assert helper.CANNOT_CHECK in _info(result)
    stack.guarded.key_file.unlink()
    result = stack.authenticate(stack.guarded.code_now(), expect=PAM_AUTH_ERR, service="sudo")
    assert helper.CANNOT_CHECK in _info(result)


def test_a_helper_killed_by_the_timeout_fails(stack):
    """The test holds the database's write lock; the helper waits for it (its own bound
    is 3 s) and `timeout -s KILL 1` ends it first."""
    code = stack.guarded.code_now()
    locker = sqlite3.connect(stack.guarded.path, isolation_level=None)
    locker.execute("BEGIN IMMEDIATE")
    try:
        result = stack.authenticate(code, expect=PAM_AUTH_ERR, service="sudo", timeout_seconds=1)
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    assert not any("accepted" in line for line in _info(result))
    assert stack.guarded.audit() == []  # killed before it could write anything
