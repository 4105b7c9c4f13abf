"""Audit details count in words that agree: "1 hour", "1 code shown"."""

from __future__ import annotations

from helpers import admin, register, start_login

from qmfa_tui.services import audit, login, policy, recovery


def test_audit_details_agree_in_number(database, fixed_clock):
    boss = admin()
    device = register(boss, fixed_clock)
    policy.set_grace_period(boss, 1)
    for code in device.codes[:7]:
        login.with_recovery_code(start_login("admin"), code)
    assert recovery.reveal_codes(boss, "admin") == device.codes[7:]
    assert [e.detail for e in audit.list_events(boss, action="settings.grace_period")] == ["1 hour"]
    assert [e.detail for e in audit.list_events(boss, action="recovery.revealed")] == [
        "1 code shown to admin"
    ]
