"""Strings from a person or the database, as Textual shows them: literal text, never markup.

A str handed to a Static, a notification or a DataTable cell is read as markup:
``[/]`` raises, ``Smith [contractor]`` loses its bracket, ``[@click=app.quit]``
becomes a link that runs an action. Content (and rich Text) built from a str is
plain text, but Textual passes ESC through to the terminal, so the string is
escaped first (`qmfa_tui.text.visible`). Compose a line of fixed words and a
person's string with ``Content.assemble("User Edit: ", literal(name))``.
"""

from __future__ import annotations

from rich.text import Text
from textual.content import Content

from qmfa_tui.text import visible


def literal(text: str) -> Content:
    """`text` shown as it is: no markup read, control characters escaped and visible."""
    return Content(visible(text))


def literal_cell(text: str) -> Text:
    """The same for a DataTable cell (a str cell is parsed as markup; a Text is drawn as is)."""
    return Text(visible(text), no_wrap=True, end="")
