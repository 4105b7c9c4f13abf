"""One page of users, drawn line by line with a row cursor.

A DataTable costs ~50 ms to refill and redraw with a page of 50 users; these
rows are plain text cells, so drawing them is a few string joins per line.
Segments go to the terminal as they are (no markup is read, and no control
character is stripped either), so a cell's text is escaped (`visible`) first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from qmfa_tui.services.directory import UserRow
from qmfa_tui.text import visible

# (label, width); the last column takes what is left.
COLUMNS: tuple[tuple[str, int], ...] = (("Username", 18), ("Name", 16), ("2FA", 8),
                                        ("Codes", 5), ("Source", 6), ("Active", 6),
                                        ("Email", 40))


def cells(row: UserRow) -> tuple[str, ...]:
    codes = "-" if row.codes_left is None else f"{row.codes_left}/8"
    return (visible(row.username), visible(row.display_name),
            "Enabled" if row.two_factor else "Disabled", codes, visible(row.auth_source),
            "yes" if row.active else "no", visible(row.email))


def fit(text: str, width: int) -> str:
    return text.ljust(width) if len(text) <= width else text[:width - 1] + "…"


class UserTable(ScrollView, can_focus=True):
    DEFAULT_CSS = """
    UserTable {
        height: 1fr;
        background: $surface;
    }
    UserTable > .user-table--header {
        text-style: bold;
        background: $panel;
    }
    UserTable > .user-table--cursor {
        background: $block-cursor-blurred-background;
    }
    UserTable:focus > .user-table--cursor {
        background: $block-cursor-background;
        color: $block-cursor-foreground;
    }
    UserTable > .user-table--few-codes {
        color: $text-error;
        text-style: bold;
    }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "user-table--header", "user-table--cursor", "user-table--few-codes"}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "move(-1)", "Up", show=False),
        Binding("down", "move(1)", "Down", show=False),
        Binding("pageup", "move(-10)", "Page up", show=False),
        Binding("pagedown", "move(10)", "Page down", show=False),
        Binding("home", "move(-1000000)", "First", show=False),
        Binding("end", "move(1000000)", "Last", show=False),
        Binding("left", "scroll_left", "Scroll left", show=False),
        Binding("right", "scroll_right", "Scroll right", show=False),
        Binding("enter", "open", "Open user"),
    ]

    cursor_row: reactive[int] = reactive(0)

    @dataclass
    class Selected(Message):
        """Enter, or a click on the row under the cursor."""

        table: UserTable
        username: str

        @property
        def control(self) -> UserTable:
            return self.table

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.rows: list[UserRow] = []
        self._line_width = sum(width for _, width in COLUMNS) + len(COLUMNS) + 1

    def set_rows(self, rows: list[UserRow]) -> None:
        self.rows = rows
        self.virtual_size = Size(self._line_width, len(rows) + 1)
        self.cursor_row = min(self.cursor_row, max(0, len(rows) - 1))
        self.refresh()

    def validate_cursor_row(self, row: int) -> int:
        return max(0, min(row, len(self.rows) - 1))

    def watch_cursor_row(self, old: int, new: int) -> None:
        # Row n is virtual line n + 1, and the header covers the top line of the view:
        # showing lines n and n + 1 keeps the row below the header.
        self.scroll_to_region(Region(0, new, 1, 2), animate=False,
                              spacing=None, top=False, force=True)
        self.refresh()

    def action_move(self, delta: int) -> None:
        self.cursor_row += delta

    def action_open(self) -> None:
        if self.rows:
            self.post_message(self.Selected(self, self.rows[self.cursor_row].username))

    def on_click(self, event: events.Click) -> None:
        row = event.y + self.scroll_offset.y - 1
        if 0 <= row < len(self.rows):
            if row == self.cursor_row:
                self.action_open()
            self.cursor_row = row

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base = self.rich_style
        if y == 0:
            text = " " + " ".join(fit(label, w) for label, w in COLUMNS)
            style = base + self.get_component_rich_style("user-table--header")
            return self._clip([Segment(text, style)], width, style)
        index = y - 1 + self.scroll_offset.y
        if index >= len(self.rows):
            return Strip.blank(width, base)
        row = self.rows[index]
        style = base + (self.get_component_rich_style("user-table--cursor")
                        if index == self.cursor_row else Style())
        values = cells(row)
        segments = [Segment(" ", style)]
        for column, ((_, column_width), value) in enumerate(zip(COLUMNS, values, strict=True)):
            cell_style = style
            if column == 3 and row.few_codes_left:
                cell_style = style + self.get_component_rich_style("user-table--few-codes")
            segments.append(Segment(fit(value, column_width) + " ", cell_style))
        return self._clip(segments, width, style)

    def _clip(self, segments: list[Segment], width: int, style: Style) -> Strip:
        scroll_x = self.scroll_offset.x
        return Strip(segments).crop(scroll_x, scroll_x + width).extend_cell_length(width, style)
