"""An exception nobody expected: no locals on screen, the traceback in a private file, exit != 0."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from qmfa_tui import cli, crash, storage

SECRET = "hunter2-in-a-local-variable"

# The real command in a real process; the login screen fails as it mounts while a local
# variable holds a secret (as a password or a device secret would be in a real crash).
CRASHING_APP = textwrap.dedent(f"""
    import functools, sys
    from qmfa_tui import cli
    from qmfa_tui.app import QmfaApp
    from qmfa_tui.screens.login import LoginScreen

    def on_mount(self):
        secret_value = {SECRET!r}
        raise RuntimeError("the login screen broke")

    LoginScreen.on_mount = on_mount
    QmfaApp.run = functools.partialmethod(QmfaApp.run, headless=True)
    sys.exit(cli.main(sys.argv[1:]))
""")


def crash_file(stderr: str) -> Path:
    found = re.search(r"the details are in (\S+)\. ", stderr)
    assert found, stderr
    return Path(found.group(1))


def test_a_crash_in_the_app_shows_one_line_and_no_locals(tmp_path: Path):
    url = f"sqlite:///{tmp_path}/q.db"
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "xdg")}
    made = subprocess.run(
        [
            sys.executable,
            "-m",
            "qmfa_tui",
            "--database",
            url,
            "demo",
            "--users",
            "5",
            "--no-launch",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert made.returncode == 0, made.stderr
    done = subprocess.run(
        [sys.executable, "-c", CRASHING_APP, "--database", url],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    output = done.stdout + done.stderr
    assert done.returncode == crash.EXIT_CRASH
    assert SECRET not in output and "secret_value" not in output
    assert "Traceback" not in output
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("qmfa: internal error (RuntimeError)")
    report = crash_file(done.stderr)
    assert report.is_relative_to(tmp_path / "xdg")
    assert report.stat().st_mode & 0o777 == 0o600
    text = report.read_text()
    assert "RuntimeError: the login screen broke" in text and "on_mount" in text
    assert SECRET not in text  # a traceback without locals


def test_a_crash_in_a_command_shows_one_line(monkeypatch, capsys, tmp_path: Path):
    from qmfa_tui.services import directory

    def broken(*args: object, **kwargs: object) -> object:
        secret_value = SECRET  # noqa: F841 - what a local in a real crash would hold
        raise KeyError("page")

    monkeypatch.setattr(directory, "page_users", broken)
    storage.open_database(f"sqlite:///{tmp_path}/q.db")  # the command opens an existing one
    code = cli.main(["--database", f"sqlite:///{tmp_path}/q.db", "users", "list"])
    captured = capsys.readouterr()
    assert code == crash.EXIT_CRASH
    assert SECRET not in captured.out + captured.err
    assert captured.err.count("\n") == 1 and "internal error (KeyError)" in captured.err
    assert "KeyError: 'page'" in crash_file(captured.err).read_text()


def test_a_crash_file_never_follows_a_symlink(monkeypatch, tmp_path: Path):
    monkeypatch.setattr(crash, "_report_directories", lambda: [tmp_path])
    monkeypatch.setattr(crash.time, "strftime", lambda fmt, *a: "fixed")
    target = tmp_path / "elsewhere.txt"
    target.write_text("untouched\n")
    (tmp_path / f"crash-fixed-{os.getpid()}.txt").symlink_to(target)
    assert crash.write_report(RuntimeError("x")) is None
    assert target.read_text() == "untouched\n"


@pytest.mark.parametrize("umask", [0o000, 0o022])
def test_a_crash_file_is_private_whatever_the_umask(monkeypatch, tmp_path: Path, umask: int):
    monkeypatch.setattr(crash, "_report_directories", lambda: [tmp_path / "crashes"])
    previous = os.umask(umask)
    try:
        path = crash.write_report(RuntimeError("x"))
    finally:
        os.umask(previous)
    assert path is not None and path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o077 == 0
