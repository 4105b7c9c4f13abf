"""Names and emails hold no control characters; stored text is shown escaped, never raw."""

from __future__ import annotations

import pytest
from helpers import PASSWORD, admin
from hypothesis import given
from hypothesis import strategies as st

from qmfa_tui.errors import BadInput
from qmfa_tui.services import accounts, login
from qmfa_tui.storage import Account
from qmfa_tui.text import SAFE_TEXT_PATTERN, forbidden_character, visible

FORBIDDEN = {
    "NUL": ("\x00", "\\x00"),
    "ESC (OSC 52)": ("\x1b]52;c;aGk=\x07", "\\x1b"),
    "BEL": ("\x07", "\\x07"),
    "tab": ("\t", "\\t"),
    "newline": ("\n", "\\n"),
    "carriage return": ("\r", "\\r"),
    "DEL": ("\x7f", "\\x7f"),
    "C1 NEL": ("\x85", "\\x85"),
    "C1 CSI": ("\x9b", "\\x9b"),
    "right-to-left override": ("\u202e", "\\u202e"),
    "left-to-right embedding": ("\u202a", "\\u202a"),
    "first strong isolate": ("\u2068", "\\u2068"),
    "pop directional isolate": ("\u2069", "\\u2069"),
    "line separator": ("\u2028", "\\u2028"),
    "paragraph separator": ("\u2029", "\\u2029"),
    "zero-width space": ("\u200b", "\\u200b"),
    "soft hyphen": ("\xad", "\\xad"),
    "byte order mark": ("\ufeff", "\\ufeff"),
}


@pytest.mark.parametrize("field", ["display_name", "email"])
@pytest.mark.parametrize("kind", FORBIDDEN)
def test_names_and_emails_refuse_control_characters(database, field, kind):
    boss = admin()
    char, shown = FORBIDDEN[kind]
    value = f"Ann{char}Smith" if field == "display_name" else f"ann{char}@example.com"
    with pytest.raises(BadInput) as refused:
        accounts.create_user(boss, "ann", password=PASSWORD, **{field: value})  # type: ignore[arg-type]
    what = "name" if field == "display_name" else "email"
    assert refused.value.message == (
        f"The {what} cannot hold control characters, line breaks, bidirectional "
        f"overrides or invisible characters (found {shown})."
    )
    assert not Account.select().where(Account.username == "ann").exists()


def test_the_first_admin_is_checked_too(database):
    with pytest.raises(BadInput, match="cannot hold control characters"):
        accounts.create_first_admin("root", PASSWORD, display_name="Root\x1b[2J")
    assert not accounts.any_users()


@pytest.mark.parametrize(("field", "limit"), [("display_name", 200), ("email", 254)])
def test_names_and_emails_are_bounded_with_a_clear_message(database, field, limit):
    boss = admin()
    info = accounts.create_user(boss, "ann", password=PASSWORD, **{field: "é" * limit})
    assert getattr(info, field) == "é" * limit
    what = "name" if field == "display_name" else "email"
    with pytest.raises(BadInput) as refused:
        accounts.create_user(boss, "bob", password=PASSWORD, **{field: "é" * (limit + 1)})
    assert refused.value.message == f"The {what} has at most {limit} characters."


def test_markup_and_other_scripts_are_fine_in_names(database):
    boss = admin()
    # Whole emoji: a ZWJ sequence (woman, U+200D, laptop) holds a zero-width joiner, refused.
    name = "Smith [contractor] [/] [@click=app.quit]x 李小龍 José 👩 💻 O'Brien"
    info = accounts.create_user(
        boss, "smith", password=PASSWORD, display_name=f"  {name}  ", email="[b]smith@example.com"
    )
    assert (info.display_name, info.email) == (name, "[b]smith@example.com")


def test_a_row_stored_with_control_characters_reads_back_exactly(database):
    admin()
    raw = "Eve\x1b]52;c;aGk=\x07\n\u202e"
    Account.update(display_name=raw).where(Account.username == "admin").execute()
    boss = login.with_password("admin", PASSWORD).actor
    assert boss is not None
    assert accounts.get_user(boss, "admin").display_name == raw  # escaping is for showing


def test_visible_writes_each_forbidden_character_as_its_escape():
    for char, shown in FORBIDDEN.values():
        assert visible(char[0]) == shown
        assert forbidden_character(f"ok{char}") == shown
    assert visible("a\x1b]2;pwned\x07b") == "a\\x1b]2;pwned\\x07b"
    assert forbidden_character("Smith [contractor] 李 é") is None


@given(st.text())
def test_visible_output_is_always_safe_and_leaves_safe_text_alone(text):
    import re

    shown = visible(text)
    assert forbidden_character(shown) is None
    assert re.fullmatch(SAFE_TEXT_PATTERN, shown)
    if forbidden_character(text) is None:
        assert shown == text
