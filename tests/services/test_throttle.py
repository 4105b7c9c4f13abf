from __future__ import annotations

import pytest
from helpers import PASSWORD, admin, code_at, register, start_login

from qmfa_tui.errors import AuthenticationFailed, Throttled
from qmfa_tui.services import login, throttle


def test_delays_grow_from_the_third_failure_and_are_capped():
    delays = [throttle.delay_after(n) for n in range(1, 16)]
    assert delays[:8] == [0, 0, 1, 2, 4, 8, 16, 32]
    assert max(delays) == throttle.MAX_DELAY_SECONDS == 900
    assert throttle.delay_after(10_000) == 900


def fail_code(device_secret: str, fixed_clock) -> None:
    wrong = code_at(device_secret, fixed_clock.t + 3600)
    with pytest.raises(AuthenticationFailed):
        login.with_security_code(start_login("admin"), wrong)


def test_code_failures_throttle_with_seconds_left_and_success_resets(database, fixed_clock):
    device = register(admin(), fixed_clock)
    fail_code(device.secret, fixed_clock)
    fail_code(device.secret, fixed_clock)
    fail_code(device.secret, fixed_clock)  # third: the next try waits 1 s
    with pytest.raises(Throttled) as caught:
        login.with_security_code(start_login("admin"), code_at(device.secret, fixed_clock.t))
    assert caught.value.retry_after == 10 and "in about 10 seconds." in caught.value.message
    fixed_clock.advance(1)
    fail_code(device.secret, fixed_clock)  # fourth: 2 s
    with pytest.raises(Throttled) as caught:
        login.with_security_code(start_login("admin"), code_at(device.secret, fixed_clock.t))
    assert caught.value.retry_after == 10 and "in about 10 seconds." in caught.value.message
    fixed_clock.advance(2)
    login.with_security_code(start_login("admin"), code_at(device.secret, fixed_clock.t))
    # Reset: the next two failures are free again.
    fail_code(device.secret, fixed_clock)
    fail_code(device.secret, fixed_clock)
    fixed_clock.advance(30)
    actor = login.with_security_code(start_login("admin"), code_at(device.secret, fixed_clock.t))
    assert actor.username == "admin"


def test_recovery_and_security_codes_share_one_counter(database, fixed_clock):
    device = register(admin(), fixed_clock)
    fail_code(device.secret, fixed_clock)
    with pytest.raises(AuthenticationFailed):
        login.with_recovery_code(start_login("admin"), "zzzzz-zzzzz")
    fail_code(device.secret, fixed_clock)
    # Even a right recovery code waits now: the counter is shared.
    with pytest.raises(Throttled):
        login.with_recovery_code(start_login("admin"), device.codes[0])
    fixed_clock.advance(1)
    assert login.with_recovery_code(start_login("admin"), device.codes[0]).remaining == 7


def test_password_failures_are_throttled_separately(database, fixed_clock):
    admin()
    for _ in range(3):
        with pytest.raises(AuthenticationFailed):
            login.with_password("admin", "wrong password")
    with pytest.raises(Throttled):
        login.with_password("admin", PASSWORD)
    fixed_clock.advance(1)
    assert login.with_password("admin", PASSWORD).actor is not None
