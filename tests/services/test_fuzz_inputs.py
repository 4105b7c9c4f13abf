"""Arbitrary strings typed where codes go end in a clean refusal, never another exception."""

from __future__ import annotations

from helpers import admin, register, start_login
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qmfa_tui.errors import QmfaError
from qmfa_tui.services import login, recovery, twofactor

TYPED = st.one_of(
    st.text(),
    st.text(alphabet="0123456789 -", max_size=12),
    st.text(alphabet="0123456789abcdefghjkmnpqrstvwxyzOIL- ", min_size=9, max_size=13),
)


def test_typed_codes_never_escape_as_anything_but_a_refusal(database, fixed_clock):
    device = register(admin(), fixed_clock)

    @settings(
        max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
    @given(TYPED, TYPED)
    def check(first: str, second: str) -> None:
        fixed_clock.advance(901)  # past any throttle delay, so the parsing is exercised
        pending = start_login("admin")
        for attempt in (
            lambda: login.with_security_code(pending, first),
            lambda: login.with_recovery_code(pending, first),
            lambda: twofactor.resync(device.actor, first, second),
            lambda: login.with_password(first, second),
        ):
            try:
                attempt()
            except QmfaError as error:
                assert error.message

    check()


@given(st.text())
def test_normalizers_accept_or_refuse_cleanly(raw: str):
    for normalize in (twofactor.normalize_security_code, recovery.normalize):
        try:
            result = normalize(raw)
        except QmfaError:
            continue
        assert result.isascii() and result.isalnum()
