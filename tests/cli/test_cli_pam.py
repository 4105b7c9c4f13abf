"""`qmfa pam setup` and `qmfa pam check`, run as a person runs them, on crafted files.

The real sshd reads the crafted configurations (`sshd -T -f FILE`); nothing here reads
or writes the machine's own sshd or PAM files: every file is under the test's tmp_path.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from cli.test_cli import qmfa

SSHD = Path("/usr/sbin/sshd")

DEBIAN_SSHD = """\
# PAM configuration for the Secure Shell service

# Standard Un*x authentication.
@include common-auth

account    required     pam_nologin.so
@include common-account
session    required     pam_limits.so
@include common-session
@include common-password
"""
DEBIAN_SUDO = """\
#%PAM-1.0

session    required   pam_limits.so

@include common-auth
@include common-account
@include common-session-noninteractive
"""
COMMON_AUTH = """\
auth	[success=1 default=ignore]	pam_unix.so nullok
auth	requisite			pam_deny.so
auth	required			pam_permit.so
"""
COMMON_OTHER = "account required pam_permit.so\n"


@pytest.fixture
def installed(tmp_path: Path) -> Path:
    """A PAM directory as Debian installs it (sshd, sudo, sudo-i and the common files)."""
    pam_dir = tmp_path / "installed-pam.d"
    pam_dir.mkdir()
    (pam_dir / "sshd").write_text(DEBIAN_SSHD)
    (pam_dir / "sudo").write_text(DEBIAN_SUDO)
    (pam_dir / "sudo-i").write_text(DEBIAN_SUDO)
    (pam_dir / "common-auth").write_text(COMMON_AUTH)
    for name in ("common-account", "common-session", "common-session-noninteractive"):
        (pam_dir / name).write_text(COMMON_OTHER)
    (pam_dir / "common-password").write_text("password required pam_unix.so\n")
    return pam_dir


def setup(*args: str, database: str, pam_dir: Path) -> subprocess.CompletedProcess[str]:
    return qmfa("pam", "setup", "--database", database, "--pam-dir", str(pam_dir), *args)


def one_line_refusal(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode == 2, result
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_setup_prints_the_files_of_this_installation(tmp_path, installed):
    database = tmp_path / "var" / "qmfa.db"
    result = setup(
        "--service-account",
        "qmfa-svc",
        "--python",
        "/opt/qmfa/venv/bin/python",
        "--host",
        "web-1",
        "--timeout",
        "7",
        "--demand-code",
        database=f"sqlite:///{database}",
        pam_dir=installed,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for line in (
        "UsePAM yes",
        "KbdInteractiveAuthentication yes",
        "PasswordAuthentication no",
        "AuthenticationMethods publickey,keyboard-interactive:pam",
        "#Match Group qmfa-breakglass",
        "#    AuthenticationMethods publickey",
    ):
        assert f"\n{line}\n" in out
    helper = (
        "/usr/bin/timeout -s KILL 7 /usr/bin/setpriv --reuid=qmfa-svc --regid=qmfa-svc "
        "--init-groups --inh-caps=-all --no-new-privs -- /opt/qmfa/venv/bin/python -I -m "
        "qmfa_tui.pam verify --service-kind sudo "
        f"--database sqlite:///{database} --key-file {database.with_suffix('.key')} "
        "--host web-1 --demand-code"
    )
    assert helper in out
    assert helper.replace("verify --service-kind sudo", "verify --service-kind sshd") in out
    # Every file: the include is commented out, the block stands where it was.
    assert out.count("# @include common-auth  # commented out by qmfa") == 3
    assert "\n@include common-auth" not in out
    sshd_part = out.split("# ===== /etc/pam.d/sshd")[1].split("# =====")[0]
    assert sshd_part.index("# @include common-auth") < sshd_part.index("pam_exec.so")
    assert sshd_part.index("auth required pam_permit.so") < sshd_part.index("pam_nologin.so")
    assert 'Defaults passprompt="[sudo] qmfa security code for %p: "' in out


def test_setup_writes_each_file_once_world_readable(tmp_path, installed, umask_zero):
    target = tmp_path / "out"
    database = f"sqlite:///{tmp_path}/qmfa.db"
    first = setup("--write", str(target), database=database, pam_dir=installed)
    assert first.returncode == 0, first.stderr
    modes = {
        path.relative_to(target).as_posix(): stat.S_IMODE(path.stat().st_mode)
        for path in target.rglob("*")
        if path.is_file()
    }
    assert modes == {
        "sshd_config.d/00-qmfa-pam.conf": 0o644,
        "pam.d/sshd": 0o644,
        "pam.d/sudo": 0o644,
        "pam.d/sudo-i": 0o644,
        "sudoers.d/qmfa": 0o440,
    }
    (target / "pam.d" / "sudo").write_text("mine\n")
    again = setup("--write", str(target), database=database, pam_dir=installed)
    one_line_refusal(again, "is there already", "--force")
    assert (target / "pam.d" / "sudo").read_text() == "mine\n"

    # --force replaces a symbolic link itself, never the file it points at.
    outside = tmp_path / "outside"
    outside.write_text("untouched\n")
    (target / "pam.d" / "sudo").unlink()
    (target / "pam.d" / "sudo").symlink_to(outside)
    forced = setup("--write", str(target), "--force", database=database, pam_dir=installed)
    assert forced.returncode == 0, forced.stderr
    assert outside.read_text() == "untouched\n"
    assert not (target / "pam.d" / "sudo").is_symlink()
    assert "qmfa_tui.pam" in (target / "pam.d" / "sudo").read_text()


def test_setup_again_on_its_own_files_changes_nothing(tmp_path, installed):
    database = f"sqlite:///{tmp_path}/qmfa.db"
    first = tmp_path / "first"
    assert setup("--write", str(first), database=database, pam_dir=installed).returncode == 0
    second = tmp_path / "second"
    again = setup("--write", str(second), database=database, pam_dir=first / "pam.d")
    assert again.returncode == 0, again.stderr
    for name in ("sshd", "sudo", "sudo-i"):
        assert (second / "pam.d" / name).read_text() == (first / "pam.d" / name).read_text()


@pytest.mark.parametrize(
    ("database", "fragments"),
    [
        ("postgresql://qmfa:hunter2@db.internal/qmfa", ("password", "world-readable", ".pgpass")),
        ("postgresql://qmfa@db.internal/qmfa?password=hunter2", ("password", ".pgpass")),
        ("sqlite:////var/lib/my qmfa/qmfa.db", ("no spaces",)),
        ("postgresql://qmfa@db.internal/qmfa", ("--key-file",)),
    ],
)
def test_setup_refuses_what_cannot_stand_in_a_pam_file(tmp_path, installed, database, fragments):
    result = setup("--write", str(tmp_path / "out"), database=database, pam_dir=installed)
    one_line_refusal(result, *fragments)
    assert "hunter2" not in result.stderr + result.stdout
    assert not (tmp_path / "out").exists()


def test_setup_refuses_a_python_path_with_a_space(tmp_path, installed):
    result = setup(
        "--python",
        "/opt/my venv/bin/python",
        database=f"sqlite:///{tmp_path}/q.db",
        pam_dir=installed,
    )
    one_line_refusal(result, "no spaces")


# ------------------------------------------------------------------------ check


needs_sshd = pytest.mark.skipif(
    not SSHD.exists() or os.geteuid() != 0,
    reason="needs root and openssh-server's /usr/sbin/sshd (sshd -T reads its host keys)",
)

GOOD_SSHD = """\
HostKey {host_key}
PidFile none
UsePAM yes
KbdInteractiveAuthentication yes
PasswordAuthentication no
AuthenticationMethods publickey,keyboard-interactive:pam
"""


@pytest.fixture
def sshd_ready() -> None:
    if not SSHD.exists() or os.geteuid() != 0:
        pytest.skip("needs root and openssh-server's /usr/sbin/sshd")
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # sshd -T wants its privsep dir


@pytest.fixture
def host_key(tmp_path: Path, sshd_ready: None) -> Path:
    key = tmp_path / "host_key"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True, timeout=30
    )
    return key


def check(*args: str, config: Path, pam_dir: Path) -> list[str]:
    result = qmfa(
        "pam",
        "check",
        "--sshd",
        str(SSHD),
        "--sshd-config",
        str(config),
        "--pam-dir",
        str(pam_dir),
        *args,
    )
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stdout.splitlines()
    assert all(line.startswith("qmfa pam check: ") for line in lines)
    assert (result.returncode == 0) == (len(lines) == 1 and "nothing wrong" in lines[0]), result
    return lines


def with_common_files(pam_dir: Path, installed: Path) -> Path:
    """``pam_dir`` (setup's files) with the common-* files they include."""
    for common in installed.glob("common-*"):
        shutil.copy(common, pam_dir / common.name)
    return pam_dir


def sshd_lines(lines: list[str]) -> list[str]:
    return [line for line in lines if "sshd has" in line or "AuthenticationMethods" in line]


@needs_sshd
def test_check_accepts_the_drop_in_and_names_each_weakened_setting(tmp_path, host_key, installed):
    config = tmp_path / "sshd_config"
    config.write_text(GOOD_SSHD.format(host_key=host_key))
    assert sshd_lines(check(config=config, pam_dir=installed)) == []

    config.write_text(
        GOOD_SSHD.format(host_key=host_key).replace(
            "PasswordAuthentication no", "PasswordAuthentication yes"
        )
    )
    assert any(
        "PasswordAuthentication yes" in line for line in check(config=config, pam_dir=installed)
    )

    config.write_text(f"HostKey {host_key}\nUsePAM no\n")
    found = sshd_lines(check(config=config, pam_dir=installed))
    assert any("UsePAM no" in line for line in found)
    assert any("AuthenticationMethods any" in line for line in found)

    config.write_text(
        GOOD_SSHD.format(host_key=host_key).replace(
            "keyboard-interactive:pam", "keyboard-interactive:pam publickey,password"
        )
    )
    assert any(
        "offers publickey,password" in line for line in check(config=config, pam_dir=installed)
    )


@needs_sshd
def test_check_sees_a_match_block_that_drops_the_code(tmp_path, host_key, installed):
    config = tmp_path / "sshd_config"
    config.write_text(
        GOOD_SSHD.format(host_key=host_key)
        + "Match User alice\n    AuthenticationMethods publickey\n"
    )
    assert sshd_lines(check("--user", "bob", config=config, pam_dir=installed)) == []
    found = check("--user", "bob", "--user", "alice", config=config, pam_dir=installed)
    assert [line for line in sshd_lines(found) if "for alice from 203.0.113.10" in line]
    assert not [line for line in found if "for bob" in line]


@needs_sshd
def test_check_reads_the_pam_files_as_pam_does(tmp_path, host_key, installed):
    config = tmp_path / "sshd_config"
    config.write_text(GOOD_SSHD.format(host_key=host_key))
    found = check(config=config, pam_dir=installed)
    assert any(f"{installed}/sshd runs no qmfa lines" in line for line in found)
    assert any(f"{installed}/sudo runs no qmfa lines" in line for line in found)

    written = tmp_path / "written"
    key = tmp_path / "data" / "qmfa.key"
    result = qmfa(
        "pam", "setup", "--database", f"sqlite:///{tmp_path}/data/qmfa.db", "--key-file",
        str(key), "--service-account", "nobody", "--pam-dir", str(installed), "--write",
        str(written),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    pam_dir = with_common_files(written / "pam.d", installed)
    found = check(config=config, pam_dir=pam_dir)
    assert not [line for line in found if "pam.d/" in line and "qmfa's lines" in line]
    # The key and the database are not there yet, and would be root's: said so.
    assert any(f"the key file {key} is not there" in line for line in found)

    # A password module before the block: the helper would be handed the Unix password.
    sudo = pam_dir / "sudo"
    sudo.write_text("@include common-auth\n" + sudo.read_text())
    found = check(config=config, pam_dir=pam_dir)
    assert any(
        f"{pam_dir}/common-auth line 1, included by {sudo} line 1, runs pam_unix.so before qmfa's"
        in line
        for line in found
    ), found

    # A block whose pam_deny line went missing lets a failed helper fall through.
    sudo_i = pam_dir / "sudo-i"
    sudo_i.write_text(
        "".join(line for line in sudo_i.read_text().splitlines(True) if "pam_deny" not in line)
    )
    found = check(config=config, pam_dir=pam_dir)
    assert any(
        str(sudo_i) in line and "not as `qmfa pam setup` writes them" in line for line in found
    ), found

    # Without its exempt line, the block is not setup's either.
    sshd = pam_dir / "sshd"
    sshd.write_text(
        "".join(line for line in sshd.read_text().splitlines(True) if " exempt " not in line)
    )
    found = check(config=config, pam_dir=pam_dir)
    assert any(
        str(sshd) in line and "not as `qmfa pam setup` writes them" in line for line in found
    ), found


@needs_sshd
def test_check_says_in_one_line_when_sshd_refuses_its_configuration(
    tmp_path, installed, sshd_ready
):
    config = tmp_path / "sshd_config"
    config.write_text(f"HostKey {tmp_path / 'no-such-key'}\nNoSuchOption yes\n")
    found = check(config=config, pam_dir=installed)
    assert any("failed (" in line and "Bad configuration option" in line for line in found), found


@needs_sshd
def test_check_names_who_could_change_the_helper_or_read_the_key(tmp_path, host_key, installed):
    config = tmp_path / "sshd_config"
    config.write_text(GOOD_SSHD.format(host_key=host_key))
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\n")
    python = venv / "bin" / "python"
    python.write_text("")
    python.chmod(0o755)
    site = venv / "lib" / "site-packages"
    site.mkdir(parents=True)
    (site / "evil.pth").write_text("")
    (site / "evil.pth").chmod(0o666)
    data = tmp_path / "data"
    data.mkdir()
    (data / "qmfa.db").write_text("")
    (data / "qmfa.key").write_text("")
    (data / "qmfa.key").chmod(0o644)
    written = tmp_path / "written"
    result = qmfa(
        "pam", "setup", "--database", f"sqlite:///{data}/qmfa.db", "--service-account",
        "nobody", "--python", str(python), "--pam-dir", str(installed), "--write", str(written),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    found = check(config=config, pam_dir=with_common_files(written / "pam.d", installed))
    assert any(f"{site / 'evil.pth'} (in the helper's virtual environment) may be changed" in line
               for line in found), found  # fmt: skip
    assert any(f"the key file {data}/qmfa.key may be read by others (mode 0644)" in line
               for line in found), found  # fmt: skip
    assert any(f"the key file {data}/qmfa.key belongs to root: chown nobody" in line
               for line in found), found  # fmt: skip

    written_as_root = tmp_path / "as-root"
    result = qmfa(
        "pam", "setup", "--database", f"sqlite:///{data}/qmfa.db", "--service-account", "root",
        "--pam-dir", str(installed), "--write", str(written_as_root),
    )  # fmt: skip
    found = check(config=config, pam_dir=with_common_files(written_as_root / "pam.d", installed))
    assert any("the helper runs as root, which is root" in line for line in found), found
