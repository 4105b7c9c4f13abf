"""The line at the top of every screen: the command palette's icon, the app's title and
the logged-in username, drawn as Textual's Header draws them, as one widget.

Textual's Header is four widgets, and it watches the app's title and sub-title: those
watchers stay on the app after the screen is gone, keeping its Header (with the lines
it drew) alive until the title next changes, which in qmfa is the next login. Every
Users and User Edit screen closed left one behind, and each full garbage collection
walked them all. The username only changes between sessions, when every screen is new,
so this bar reads the title as it draws and watches nothing.
"""

from __future__ import annotations

from textual import events
from textual.content import Content
from textual.widget import Widget

ICON = "⭘"
ICON_WIDTH = 8  # as Header's icon: one column of padding, the icon, room for a wider one
RIGHT_WIDTH = 10  # as Header's clock space, so that the title is centred where it was


class TitleBar(Widget):
    DEFAULT_CSS = """
    TitleBar {
        dock: top;
        width: 100%;
        height: 1;
        background: $panel;
        color: $foreground;
    }
    """

    def render(self) -> Content:
        app = self.app
        screen = self.screen
        title = app.title if screen.title is None else screen.title
        sub_title = app.sub_title if screen.sub_title is None else screen.sub_title
        middle = max(self.size.width - ICON_WIDTH - RIGHT_WIDTH, 0)
        return Content.assemble(
            f" {ICON}".ljust(ICON_WIDTH),
            app.format_title(title, sub_title).center(middle, ellipsis=True),
            " " * RIGHT_WIDTH,
        )

    async def on_click(self, event: events.Click) -> None:
        if event.x < ICON_WIDTH and self.app.ENABLE_COMMAND_PALETTE:
            event.stop()
            await self.run_action("app.command_palette")
