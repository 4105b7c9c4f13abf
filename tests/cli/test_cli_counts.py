"""The command line's counts agree with their nouns: "1 user", "1 hour", "has"."""

from __future__ import annotations

from cli.test_cli import PASSWORD, qmfa


def test_one_of_each_is_singular(tmp_path):
    url = f"sqlite:///{tmp_path}/one/qmfa.db"
    demo = qmfa("--database", url, "demo", "--users", "1", "--no-launch")
    assert demo.returncode == 0, demo.stderr
    assert "(1 user)." in demo.stderr and "1 users" not in demo.stderr
    added = qmfa(
        "--database", url, "users", "add", "zed", "--password-stdin", stdin=PASSWORD + "\n"
    )
    assert added.returncode == 0, added.stderr
    grace = qmfa("--database", url, "settings", "grace-period", "1")
    assert grace.stdout.strip() == "Grace period: 1 hour."
    shown = qmfa("--database", url, "settings", "show").stdout
    assert "grace period: 1 hour\n" in shown
    assert "without 2FA:  1 active local user\n" in shown  # zed (the demo admin has 2FA)
    asked = qmfa("--database", url, "settings", "mandatory", "on", stdin="")
    assert (
        "1 active local user without two-step verification will have to register a device "
        "within 1 hour of their next login."
    ) in asked.stdout
