from __future__ import annotations

import re
from datetime import datetime

import pytest
from helpers import PASSWORD, add_user, admin, register, start_login

from qmfa_tui.errors import (
    AuthenticationFailed,
    BadInput,
    NoRecoveryCodesLeft,
    NotFound,
    NotPermitted,
)
from qmfa_tui.services import audit, login, recovery
from qmfa_tui.services.session import NextStep

CODE_SHAPE = re.compile(r"[0-9a-hjkmnp-tv-z]{5}-[0-9a-hjkmnp-tv-z]{5}")


def test_eight_distinct_codes_of_fifty_bits():
    codes = recovery.generate_codes()
    assert len(codes) == 8 == len(set(codes))
    assert all(CODE_SHAPE.fullmatch(code) for code in codes)
    assert len(recovery.ALPHABET) == 32 == len(set(recovery.ALPHABET))
    assert recovery.CODE_LENGTH * 5 >= 50


@pytest.mark.parametrize(
    "shape",
    [
        str.upper,
        lambda c: c.replace("-", ""),
        lambda c: f"  {c}\t",
        lambda c: c.replace("-", " - "),
    ],
)
def test_input_forms_normalize_to_the_same_code(shape):
    code = "0a1b2-c3d4e"
    assert recovery.normalize(shape(code)) == "0a1b2c3d4e"


def test_lookalike_letters_read_as_digits():
    assert recovery.normalize("OaIb2-c3dLe") == "0a1b2c3d1e"
    fullwidth = "".join(chr(ord(c) + 0xFEE0) for c in "oaib2-c3d4e")  # ｏａｉｂ２－… # noqa: RUF003
    assert recovery.normalize(fullwidth) == "0a1b2c3d4e"


@pytest.mark.parametrize(
    "junk",
    [
        "",
        "abc",
        "0a1b2-c3d4",
        "0a1b2-c3d4e5",
        "uuuuu-uuuuu",
        "0a1b2_c3d4e",
        "😀😀😀😀😀-😀😀😀😀😀",
    ],
)
def test_malformed_codes_are_refused(junk):
    with pytest.raises(BadInput):
        recovery.normalize(junk)


def test_login_with_a_recovery_code_uses_it_up(database, fixed_clock):
    device = register(admin(), fixed_clock)
    code = device.codes[3]
    result = login.with_recovery_code(start_login("admin"), code.upper())
    assert result.actor.username == "admin"
    assert result.remaining == 7 and not result.few_left
    with pytest.raises(AuthenticationFailed, match="already used"):
        login.with_recovery_code(start_login("admin"), code)
    assert code not in recovery.reveal_codes(result.actor, "admin")
    assert recovery.remaining_codes(result.actor, "admin") == 7


def test_few_left_from_two(database, fixed_clock):
    device = register(admin(), fixed_clock)
    for index, code in enumerate(device.codes):
        result = login.with_recovery_code(start_login("admin"), code)
        assert result.remaining == 7 - index
        assert result.few_left == (result.remaining <= 2)
    # With none left, the user still has their phone; the account is intact.
    assert login.with_password("admin", PASSWORD).next_step is NextStep.SECURITY_CODE


def test_a_code_refused_with_none_left_says_so(database, fixed_clock):
    boss = admin()
    device = register(boss, fixed_clock)
    for code in device.codes[:-1]:
        login.with_recovery_code(start_login("admin"), code)
    # One left: a wrong code is only wrong (not the subclass).
    with pytest.raises(AuthenticationFailed) as wrong:
        login.with_recovery_code(start_login("admin"), device.codes[0])
    assert type(wrong.value) is AuthenticationFailed
    login.with_recovery_code(start_login("admin"), device.codes[-1])
    with pytest.raises(NoRecoveryCodesLeft, match=r"No recovery codes left.*an admin must"):
        login.with_recovery_code(start_login("admin"), device.codes[0])
    failed = audit.list_events(boss, action="login.failed")
    assert [e.detail for e in failed] == ["wrong recovery code (none left)", "wrong recovery code"]


def test_few_left_is_one_number_for_the_login_and_the_users_screen():
    from qmfa_tui.services import directory, user_filter

    assert not hasattr(directory, "FEW_CODES_LEFT") and not hasattr(recovery, "FEW_LEFT")
    row = directory.UserRow(1, "a", "", "", "local", True, True, user_filter.FEW_LEFT)
    assert (
        row.few_codes_left
        and not directory.UserRow(
            1, "a", "", "", "local", True, True, user_filter.FEW_LEFT + 1
        ).few_codes_left
    )


def test_one_users_code_does_not_open_another_account(database, fixed_clock):
    boss = admin()
    alice = add_user(boss, "alice")
    register(alice, fixed_clock)
    boss_device = register(boss, fixed_clock)
    with pytest.raises(AuthenticationFailed):
        login.with_recovery_code(start_login("alice"), boss_device.codes[0])


def test_reveal_is_audited_and_limited(database, fixed_clock):
    boss = admin()
    alice = add_user(boss, "alice")
    bob = add_user(boss, "bob")
    helpdesk = add_user(boss, "helpdesk", users_module=True)
    device = register(alice, fixed_clock)
    assert recovery.reveal_codes(helpdesk, "alice") == device.codes
    assert recovery.reveal_codes(alice, "alice") == device.codes
    with pytest.raises(NotPermitted):
        recovery.reveal_codes(bob, "alice")
    with pytest.raises(NotFound):
        recovery.reveal_codes(boss, "bob")
    reveals = audit.list_events(boss, action="recovery.revealed")
    assert [(e.actor, e.target) for e in reveals] == [("alice", "alice"), ("helpdesk", "alice")]


def test_codes_text_says_whose_when_and_how():
    codes = recovery.generate_codes()
    text = recovery.codes_text("alice", "acme-qa", codes, datetime(2027, 1, 15, 8, 0))
    assert "alice" in text and "acme-qa" in text
    # The time is the saving's, not the codes' (made at the registration): said so.
    assert "Saved 2027-01-15 08:00 UTC: 8 unused codes" in text.splitlines()
    assert "Generated" not in text
    assert [line for line in text.splitlines() if CODE_SHAPE.fullmatch(line)] == codes
    assert "Login with Recovery Code" in text
