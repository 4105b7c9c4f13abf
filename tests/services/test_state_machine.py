"""A Hypothesis state machine over the services: register, verify, replay, resync, recovery
codes, remove, mandatory on/off, time passing. After every step the invariants hold:

- recovery codes only ever go down, until the device is registered again;
- a time step that was accepted never verifies again;
- every change writes exactly one audit event;
- account.two_factor agrees with the device row.
"""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

import pyotp
from helpers import PASSWORD, FakeClock, confirmed
from helpers import login as log_in
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from qmfa_tui import storage
from qmfa_tui.errors import AuthenticationFailed, ConfirmPassword, NotPermitted, QmfaError
from qmfa_tui.services import accounts, clock, login, policy, recovery, twofactor
from qmfa_tui.services.session import NextStep, shell_actor


class TwoFactorMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.clock = FakeClock()
        self._clock = clock.use_clock(self.clock)
        self._clock.__enter__()
        storage.open_database(f"sqlite:///{Path(tempfile.mkdtemp()) / 'machine.db'}")
        accounts.create_first_admin("admin", PASSWORD)
        self.actor = log_in("admin")
        self.secret: str | None = None
        self.issued: list[str] = []  # codes of the current registration
        self.remaining: set[str] = set()  # what the model expects to be left
        self.used_steps: set[int] = set()
        self.mandatory = False

    def teardown(self) -> None:
        storage.close_database()
        self._clock.__exit__(None, None, None)

    def events(self) -> int:
        return storage.AuditEvent.select().count()

    def totp(self) -> pyotp.TOTP:
        assert self.secret is not None  # the rules that use it require a device
        return pyotp.TOTP(self.secret)

    def step_now(self) -> int:
        return int(self.clock.t) // 30

    def second_step(self):
        storage.Throttle.delete().execute()  # failures are the throttle tests' subject
        pending = login.with_password("admin", PASSWORD)
        assert pending.next_step is (
            NextStep.SECURITY_CODE
            if self.secret
            else NextStep.REGISTER_DEVICE
            if self.mandatory
            else NextStep.DONE
        )
        return pending

    @precondition(lambda self: self.secret is None)
    @rule()
    def register(self) -> None:
        before = self.events()
        pending = twofactor.begin_registration(self.actor)
        code = pyotp.TOTP(pending.secret).at(self.clock.t)
        enrollment = twofactor.confirm_registration(self.actor, pending, code)
        assert self.events() == before + 1
        self.secret = pending.secret
        self.issued = list(enrollment.recovery_codes)
        self.remaining = set(self.issued)
        self.used_steps = {self.step_now()}

    @precondition(lambda self: self.secret is not None)
    @rule(offset=st.sampled_from([-1, 0, 1]))
    def log_in_with_a_code(self, offset: int) -> None:
        drift, anchor = self._drift()
        assert abs(drift - anchor) <= 1  # logins never take the drift further
        step = self.step_now() + offset + drift
        code = self.totp().generate_otp(step)
        pending = self.second_step()
        before = self.events()
        near_anchor = abs(step - self.step_now() - anchor) <= 1
        try:
            login.with_security_code(pending, code)
        except AuthenticationFailed:
            assert step <= max(self.used_steps) or not near_anchor
        else:
            assert step > max(self.used_steps) and near_anchor
            self.used_steps.add(step)
        assert self.events() == before + 1  # a success or a counted failure: one event

    @precondition(lambda self: bool(self.used_steps) and self.secret is not None)
    @rule(data=st.data())
    def replay_a_used_step(self, data: st.DataObject) -> None:
        step = data.draw(st.sampled_from(sorted(self.used_steps)))
        pending = self.second_step()
        try:
            login.with_security_code(pending, self.totp().generate_otp(step))
        except AuthenticationFailed:
            return
        raise AssertionError(f"step {step} verified twice")

    @precondition(lambda self: bool(self.issued))
    @rule(data=st.data(), shape=st.sampled_from([str, str.upper, lambda c: c.replace("-", "")]))
    def use_a_recovery_code(self, data: st.DataObject, shape) -> None:
        code = data.draw(st.sampled_from(self.issued))
        pending = self.second_step()
        before = self.events()
        try:
            result = login.with_recovery_code(pending, shape(code))
        except AuthenticationFailed:
            assert code not in self.remaining
        else:
            assert code in self.remaining
            self.remaining.discard(code)
            assert result.remaining == len(self.remaining)
        assert self.events() == before + 1

    @precondition(lambda self: self.secret is not None)
    @rule(offset_steps=st.integers(min_value=-600, max_value=600))
    def resync(self, offset_steps: int) -> None:
        storage.Throttle.delete().execute()
        step = self.step_now() + offset_steps
        totp = self.totp()
        before = self.events()
        try:
            twofactor.resync(self.actor, totp.generate_otp(step - 1), totp.generate_otp(step))
        except AuthenticationFailed:
            assert step - 1 <= max(self.used_steps)  # refused only for used steps
        else:
            assert step - 1 > max(self.used_steps)
            self.used_steps.update({step - 1, step})
        assert self.events() == before + 1

    @precondition(lambda self: self.secret is not None)
    @rule()
    def remove(self) -> None:
        if not accounts.password_confirmed(self.actor):  # sudo mode: nothing done, nothing logged
            before = self.events()
            with contextlib.suppress(ConfirmPassword):
                twofactor.remove_device(self.actor, "admin")
                raise AssertionError("removed without the password given lately")
            assert self.events() == before
            confirmed(self.actor)
        before = self.events()
        twofactor.remove_device(self.actor, "admin")
        assert self.events() == before + 1
        self.secret, self.issued, self.remaining = None, [], set()
        self.used_steps = set()

    @rule(enabled=st.booleans())
    def switch_mandatory(self, enabled: bool) -> None:
        before = self.events()
        try:
            policy.set_mandatory(shell_actor(), enabled)
        except NotPermitted:
            raise AssertionError("the shell may always switch it") from None
        assert self.events() == before + (enabled != self.mandatory)
        self.mandatory = enabled

    @rule(seconds=st.sampled_from([1, 30, 31, 90, 600, 3600]))
    def time_passes(self, seconds: int) -> None:
        self.clock.advance(seconds)

    @rule(junk=st.text(max_size=12))
    def junk_is_refused_cleanly(self, junk: str) -> None:
        if self.secret is None:
            return
        with contextlib.suppress(QmfaError):  # a refusal with a message, nothing else
            login.with_security_code(self.second_step(), junk)

    def _drift(self) -> tuple[int, int]:
        if not self.secret:
            return 0, 0
        device = storage.Device.get()
        return device.drift, device.drift_anchor

    @invariant()
    def recovery_codes_match_the_model(self) -> None:
        left = recovery.remaining_codes(self.actor, "admin")
        assert left == (len(self.remaining) if self.secret else None)

    @invariant()
    def the_flag_matches_the_device(self) -> None:
        flag = storage.Account.get(storage.Account.username == "admin").two_factor
        assert flag == storage.Device.select().exists() == (self.secret is not None)


TwoFactorMachine.TestCase.settings = settings(
    max_examples=25,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_two_factor_machine = TwoFactorMachine.TestCase
