"""Text from a person or the database, made safe to show: control characters made visible.

A terminal acts on what it is sent: ESC starts a sequence that can set the
clipboard (OSC 52), retitle the window or wipe the screen; a newline breaks a
table row; a bidi override reorders what follows it. So every such character
is shown as an escape (``\\x1b``, ``\\n``, ``\\u202e``) instead. The services
refuse them in names and emails (`forbidden_character`); rows stored before,
or written by other means, are still shown escaped.

It lives at the bottom of the package (no Textual import) so the screens and
the command line escape alike; the TUI wraps it in widgets/literal.py. So does
`counted`, which makes a count and its noun agree in number.
"""

from __future__ import annotations

import re

# Characters that make a terminal (or the text around them) do something: C0, DEL and C1
# control characters, the Unicode bidi controls (embeddings, overrides, isolates, marks) and
# the line and paragraph separators.
_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}
_BIDI_CONTROLS = (0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))
_SEPARATORS = (0x2028, 0x2029)


def _escape(codepoint: int) -> str:
    char = chr(codepoint)
    if char in _NAMED:
        return _NAMED[char]
    return f"\\x{codepoint:02x}" if codepoint <= 0xFF else f"\\u{codepoint:04x}"


_UNSAFE: tuple[int, ...] = (*range(0x00, 0x20), *range(0x7F, 0xA0), *_BIDI_CONTROLS, *_SEPARATORS)
_ESCAPES: dict[int, str] = {codepoint: _escape(codepoint) for codepoint in _UNSAFE}
_UNSAFE_CLASS = "".join(f"\\u{codepoint:04x}" for codepoint in sorted(_UNSAFE))
_UNSAFE_SEARCH = re.compile(f"[{_UNSAFE_CLASS}]")
# A regular expression for text free of them (an Input's `restrict`, which draws its value raw).
SAFE_TEXT_PATTERN = f"[^{_UNSAFE_CLASS}]*"


def visible(text: str) -> str:
    """`text` with every control, bidi-control and line-separator character written as an escape.

    The result holds none of them, so it can be written to a terminal or drawn on a screen
    as it is (markup is the screens' business: see widgets/literal.py).
    """
    if text.isprintable():  # the usual case, and quick: every character escaped is unprintable
        return text
    return text.translate(_ESCAPES)


def forbidden_character(text: str) -> str | None:
    """The first character of `text` that `visible` would escape, shown escaped; else None."""
    found = _UNSAFE_SEARCH.search(text)
    return None if found is None else _ESCAPES[ord(found.group())]


def counted(number: int, noun: str, plural: str | None = None) -> str:
    """``number`` and ``noun`` agreeing: "1 user", "2 users", "1,234 users"."""
    return f"{number:,} {noun if number == 1 else plural or noun + 's'}"
