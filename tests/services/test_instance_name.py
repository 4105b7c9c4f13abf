"""The instance's name (`qmfa settings name`): the issuer new registrations are listed under
in an authenticator app, and the title bar's (tests/screens/test_tui_instance_name.py)."""

from __future__ import annotations

from urllib.parse import parse_qs, unquote, urlsplit

import pyotp
import pytest
from cli.test_cli import assert_one_clear_line, qmfa
from helpers import add_user, admin, code_at, register, start_login

from qmfa_tui import storage
from qmfa_tui.errors import BadInput, NotPermitted
from qmfa_tui.services import audit, login, policy, twofactor
from qmfa_tui.services.session import shell_actor


def test_an_admin_names_the_instance_audited_old_to_new(database, fixed_clock):
    boss = admin()
    info = policy.set_instance_name(boss, "  Acme prod  ")
    assert info.instance_name == "Acme prod" == policy.instance_info().instance_name
    policy.set_instance_name(shell_actor(), "Acme staging")
    events = [(e.actor, e.action, e.detail) for e in audit.list_events(boss)]
    assert events[:2] == [
        ("shell", "settings.instance_name", "Acme prod -> Acme staging"),
        ("admin", "settings.instance_name", "qmfa -> Acme prod"),
    ]
    policy.set_instance_name(boss, "Acme staging")  # no change, no event
    assert len([e for e in audit.list_events(boss) if e.action == "settings.instance_name"]) == 2


@pytest.mark.parametrize(
    ("name", "said"),
    [
        ("", "1 to 60 characters"),
        ("   ", "1 to 60 characters"),
        ("x" * 61, "1 to 60 characters"),
        ("Acme\x1b]52;c;aGk=\x07", "found \\x1b"),
        ("Acme\nprod", "found \\n"),
        ("Ac\u200bme", "found \\u200b"),  # reads as "Acme"
        ("Acme \u202eprod", "found \\u202e"),
        ("Acme\u00adprod", "found \\xad"),
    ],
)
def test_a_bad_name_is_refused_and_nothing_changes(database, fixed_clock, name, said):
    boss = admin()
    with pytest.raises(BadInput) as refused:
        policy.set_instance_name(boss, name)
    assert said in refused.value.message and "\n" not in refused.value.message
    assert policy.instance_info().instance_name == "qmfa"
    assert not [e for e in audit.list_events(boss) if e.action == "settings.instance_name"]


def test_sixty_characters_of_any_script_are_a_name(database, fixed_clock):
    name = "Ünïcödé 製品 " + "x" * 49
    assert len(name) == 60
    assert policy.set_instance_name(admin(), name).instance_name == name


def test_only_admins_name_the_instance(database, fixed_clock):
    boss = admin()
    helpdesk = add_user(boss, "helpdesk", users_module=True)
    with pytest.raises(NotPermitted):
        policy.set_instance_name(helpdesk, "Mine now")
    assert policy.instance_info().instance_name == "qmfa"


def test_new_registrations_carry_the_name_as_their_issuer(database, fixed_clock):
    boss = admin()
    policy.set_instance_name(boss, "Acme prod")
    pending = twofactor.begin_registration(boss)
    parts = urlsplit(pending.uri)
    assert unquote(parts.path) == "/Acme prod:admin"
    assert parse_qs(parts.query)["issuer"] == ["Acme prod"]
    parsed = pyotp.parse_uri(pending.uri)
    assert (parsed.issuer, parsed.name, parsed.secret) == ("Acme prod", "admin", pending.secret)
    twofactor.confirm_registration(boss, pending, code_at(pending.secret, fixed_clock.t))


def test_a_device_registered_before_the_rename_keeps_working(database, fixed_clock):
    boss = admin()
    device = register(boss, fixed_clock)
    stored = storage.Device.get().secret_sealed
    policy.set_instance_name(boss, "Acme prod")
    pending = start_login("admin")
    actor = login.with_security_code(pending, code_at(device.secret, fixed_clock.t))
    assert actor.username == "admin"
    assert storage.Device.get().secret_sealed == stored


@pytest.fixture
def url(tmp_path) -> str:
    url = f"sqlite:///{tmp_path}/ops/qmfa.db"
    assert qmfa("--database", url, "demo", "--users", "10", "--no-launch").returncode == 0
    return url


def test_qmfa_settings_name_sets_shows_and_audits(url):
    named = qmfa("--database", url, "settings", "name", "  Acme prod ")
    assert named.returncode == 0, named.stderr
    assert named.stdout.splitlines()[0] == "Instance name: Acme prod."
    shown = qmfa("--database", url, "settings", "show")
    assert "instance:     Acme prod\n" in shown.stdout
    events = qmfa(
        "--database", url, "audit", "--action", "settings.instance_name", "--format", "csv"
    )
    assert "qmfa -> Acme prod" in events.stdout and "shell" in events.stdout


@pytest.mark.parametrize(
    ("name", "said"), [("", "1 to 60 characters"), ("Ac\u200bme", "found \\u200b")]
)
def test_qmfa_settings_name_refuses_a_bad_name_in_one_line(url, name, said):
    refused = qmfa("--database", url, "settings", "name", name)
    assert_one_clear_line(refused, said)
    assert refused.returncode == 1
    assert "instance:     qmfa\n" in qmfa("--database", url, "settings", "show").stdout
