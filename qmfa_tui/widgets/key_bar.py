"""The line at the bottom of every screen: its keys, and the command palette's on the
right, drawn as Textual's Footer draws them, as one widget.

Textual's Footer builds a widget per key, each styled twice as it mounts, and builds
them again whenever the screen's keys change (focus moving, a screen closing over
it), ~16 ms each time. Each key is bound to the Footer's `compact` setting, and
that binding stays on the Footer after the key is gone: a screen that stays open
kept every key it ever showed, ten more each time one came back to the main menu,
with the lines they drew. This bar draws the keys as one line when they change.
A click on a key presses it, and the key under the mouse is lit, as on the Footer.
"""

from __future__ import annotations

from typing import ClassVar

from textual import events
from textual.binding import Binding
from textual.content import Content
from textual.screen import Screen
from textual.style import Style
from textual.widget import Widget

PALETTE_EDGE = "▏"  # the Footer's border before the palette's key


class KeyBar(Widget):
    DEFAULT_CSS = """
    KeyBar {
        dock: bottom;
        width: 1fr;
        height: 1;
        color: $footer-foreground;
        background: $footer-background;
        & > .key-bar--key {
            color: $footer-key-foreground;
            background: $footer-key-background;
            text-style: bold;
        }
        & > .key-bar--description {
            color: $footer-description-foreground;
            background: $footer-description-background;
        }
        & > .key-bar--edge { color: $foreground 20%; }  /* blended in render */
        & > .key-bar--hover { background: $block-hover-background; }  /* the same */
    }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "key-bar--key",
        "key-bar--description",
        "key-bar--edge",
        "key-bar--hover",
    }

    def __init__(self) -> None:
        super().__init__()
        self._spans: list[tuple[int, int, str, bool]] = []  # start, end, key, enabled
        self._hovered: str | None = None  # the key under the mouse

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: Screen[object]) -> None:
        self.refresh()

    def shown_keys(self) -> list[tuple[Binding, bool]]:
        """The keys shown, left to right (the palette's last): each binding and whether
        it is enabled. One key per action, as the Footer shows them."""
        keys, palette = self._keys()
        return [*keys, palette] if palette is not None else keys

    def _keys(self) -> tuple[list[tuple[Binding, bool]], tuple[Binding, bool] | None]:
        """The screen's keys, and the command palette's when it has one."""
        app = self.app
        active = self.screen.active_bindings
        shown: dict[str, tuple[Binding, bool]] = {}
        for _, binding, enabled, _ in active.values():
            if binding.show and binding.action not in shown:
                shown[binding.action] = (binding, enabled)
        palette = active.get(app.COMMAND_PALETTE_BINDING) if app.ENABLE_COMMAND_PALETTE else None
        if palette is None:
            return list(shown.values()), None
        return list(shown.values()), (palette.binding, palette.enabled)

    def render(self) -> Content:
        keys, palette = self._keys()
        drawn: list[Content] = []
        spans: list[tuple[int, int, str, bool]] = []
        x = 0
        for binding, enabled in keys:
            key = self._draw_key(binding, enabled, lead=" ")
            spans.append((x, x + key.cell_length, binding.key, enabled))
            drawn.append(key)
            x += key.cell_length
        left = Content.assemble(*drawn)
        if palette is None:
            self._spans = spans
            return left
        # On the right, after a thin edge: the palette's key, over what does not fit.
        binding, enabled = palette
        key = self._draw_key(binding, enabled, lead="")
        room = max(self.size.width - 1 - key.cell_length, 0)
        start = room + 1
        self._spans = [span for span in spans if span[1] <= room]
        self._spans.append((start, start + key.cell_length, binding.key, enabled))
        # Component styles take no translucent colour: the edge's is blended over the bar.
        edge = self.background_colors[1] + self.get_component_styles("key-bar--edge").color
        return Content.assemble(
            left.truncate(room, pad=True), (PALETTE_EDGE, Style(foreground=edge)), key
        )

    def _draw_key(self, binding: Binding, enabled: bool, *, lead: str) -> Content:
        """``lead``, the key, its description: dimmed when disabled, lit under the mouse."""
        base = Style() if enabled else Style(dim=True)  # as the Footer's `-disabled` keys
        if binding.key == self._hovered:
            lit = self.get_component_styles("key-bar--hover").background
            base += Style(background=self.background_colors[1] + lit)  # blended, as the edge
        return Content.assemble(
            (lead, base),
            (self.app.get_key_display(binding), self.get_visual_style("key-bar--key") + base),
            (" ", base),
            (binding.description, self.get_visual_style("key-bar--description") + base),
            (" ", base),
        )

    def _key_at(self, x: int) -> tuple[str, bool] | None:
        for start, end, key, enabled in self._spans:
            if start <= x < end:
                return key, enabled
        return None

    def on_mouse_move(self, event: events.MouseMove) -> None:
        found = self._key_at(event.x)
        hovered = None if found is None else found[0]
        if hovered != self._hovered:
            self._hovered = hovered
            self.refresh()

    def on_leave(self, event: events.Leave) -> None:
        if self._hovered is not None:
            self._hovered = None
            self.refresh()

    def on_click(self, event: events.Click) -> None:
        found = self._key_at(event.x)
        if found is not None:
            event.stop()
            key, enabled = found
            if enabled:
                self.app.simulate_key(key)
            else:
                self.app.bell()
