"""The line at the bottom of every screen: its keys, and the command palette's on the
right, drawn as Textual's Footer draws them, as one widget.

Textual's Footer builds a widget per key, each styled twice as it mounts, and builds
them again whenever the screen's keys change (focus moving, a screen closing over
it), each time. Each key is bound to the Footer's `compact` setting, and
that binding stays on the Footer after the key is gone: a screen that stays open
kept every key it ever showed, ten more each time one came back to the main menu,
with the lines they drew. This bar draws the keys as one line when they change.
A click on a key presses it, and the key under the mouse is lit, as on the Footer.

Where the line is too narrow, the screen's own keys drop from the end, whole (Esc last
of them): the app's keys (Quit, Help) and the palette's stay, on modals too. `ButtonKeys` gives a
screen keys that press its buttons, shown while the button is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from textual import events
from textual.app import App
from textual.binding import ActiveBinding, Binding
from textual.content import Content
from textual.dom import DOMNode
from textual.screen import Screen
from textual.style import Style
from textual.widget import Widget

from qmfa_tui.textual_compat import action_state, app_bindings

if TYPE_CHECKING:
    from textual.widgets import Button

PALETTE_EDGE = "▏"  # the Footer's border before the palette's key
# `?` for a modal's BINDINGS: over a modal, the app's own `?` is not reached (F1 is).
MODAL_HELP_KEY = Binding("question_mark", "app.help", "Help", key_display="?", show=False)


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
        self._drawn: tuple[tuple[str, str, bool], ...] = ()  # the keys of the last render

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        # A key may follow a widget that comes and goes (ButtonKeys): after each layout
        # (a mount, a removal), draw again if the keys changed.
        self.screen.screen_layout_refresh_signal.subscribe(self, self._layout_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)
        self.screen.screen_layout_refresh_signal.unsubscribe(self)

    def _bindings_changed(self, screen: Screen[object]) -> None:
        self.refresh()

    def _layout_changed(self, screen: Screen[object]) -> None:
        if self._identity(self.shown_keys()) != self._drawn:
            self.refresh()

    @staticmethod
    def _identity(keys: list[tuple[Binding, bool]]) -> tuple[tuple[str, str, bool], ...]:
        return tuple((binding.key, binding.description, enabled) for binding, enabled in keys)

    def shown_keys(self) -> list[tuple[Binding, bool]]:
        """The keys offered, left to right (the palette's last), whatever the width: each
        binding and whether it is enabled. One key per action, as the Footer shows them."""
        own, kept, palette = self._keys()
        keys = [*own, *kept]
        return [*keys, palette] if palette is not None else keys

    def _keys(
        self,
    ) -> tuple[list[tuple[Binding, bool]], list[tuple[Binding, bool]], tuple[Binding, bool] | None]:
        """The screen's own keys, the app's (Quit, Help: never dropped), and the command
        palette's when it has one."""
        app = self.app
        active = self.screen.active_bindings
        own: dict[str, tuple[Binding, bool]] = {}
        kept: dict[str, tuple[Binding, bool]] = {}
        for node, binding, enabled, _ in active.values():
            if binding.show and binding.action not in own and binding.action not in kept:
                (kept if isinstance(node, App) else own)[binding.action] = (binding, enabled)
        if self.screen.is_modal:
            self._add_app_keys_over_modal(active, kept)
        palette = active.get(app.COMMAND_PALETTE_BINDING) if app.ENABLE_COMMAND_PALETTE else None
        if palette is None:
            return list(own.values()), list(kept.values()), None
        return list(own.values()), list(kept.values()), (palette.binding, palette.enabled)

    def _add_app_keys_over_modal(
        self, active: dict[str, ActiveBinding], kept: dict[str, tuple[Binding, bool]]
    ) -> None:
        """A modal's bindings end at the modal, so the app's keys are not among them, though
        its priority keys (^q, F1) still work there, and `?` where the modal binds it to the
        app's action (MODAL_HELP_KEY): those are shown, `?` before F1 as on other screens."""
        app = self.app
        offers_help = getattr(self.screen, "KEY_BAR_OFFERS_HELP", True)
        for binding in app_bindings(app):
            if not binding.show or binding.action in kept:
                continue
            if binding.action == "help" and not offers_help:
                continue
            local = active.get(binding.key)
            reached = binding.priority or (
                local is not None and local.binding.action == f"app.{binding.action}"
            )
            if not reached:
                continue
            state = action_state(app, binding.action)
            if state is not False:
                kept[binding.action] = (binding, bool(state))

    def render(self) -> Content:
        own, kept, palette = self._keys()
        self._drawn = self._identity([*own, *kept, *([palette] if palette else [])])
        palette_key = None if palette is None else self._draw_key(*palette, lead="")
        room = self.size.width - (0 if palette_key is None else 1 + palette_key.cell_length)
        room = max(room, 0)
        kept_drawn = [(binding, self._draw_key(binding, on, lead=" ")) for binding, on in kept]
        free = room - sum(key.cell_length for _, key in kept_drawn)
        own_drawn = [(binding, self._draw_key(binding, on, lead=" ")) for binding, on in own]
        while sum(key.cell_length for _, key in own_drawn) > free and own_drawn:
            # The last key drops first, Esc (Back, Cancel, Done) after every other.
            dropped = max(range(len(own_drawn)), key=lambda i: (own_drawn[i][0].key != "escape", i))
            del own_drawn[dropped]
        enabled_by_key = {binding.key: enabled for binding, enabled in [*own, *kept]}
        spans: list[tuple[int, int, str, bool]] = []
        x = 0
        for binding, key in [*own_drawn, *kept_drawn]:
            if x + key.cell_length <= room:  # the palette's edge covers what does not fit
                spans.append((x, x + key.cell_length, binding.key, enabled_by_key[binding.key]))
            x += key.cell_length
        left = Content.assemble(*(key for _, key in [*own_drawn, *kept_drawn]))
        if palette is None or palette_key is None:
            self._spans = spans
            return left
        # On the right, after a thin edge: the palette's key.
        start = room + 1
        self._spans = [*spans, (start, start + palette_key.cell_length, palette[0].key, palette[1])]
        # Component styles take no translucent colour: the edge's is blended over the bar.
        edge = self.background_colors[1] + self.get_component_styles("key-bar--edge").color
        return Content.assemble(
            left.truncate(room, pad=True), (PALETTE_EDGE, Style(foreground=edge)), palette_key
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


class ButtonKeys:
    """For a screen whose buttons come and go with its state: bind a key to
    ``press_button('id')`` and the key presses the button of that id, shown in the key
    bar while the button is on the screen (dimmed while it is disabled)."""

    def _shown_button(self, button_id: object) -> Button | None:
        """The button of that id, unless it or a container of it is not displayed (a tab
        not shown). A walk of the displayed widgets, cheaper than a CSS query per key."""
        from textual.widgets import Button

        unseen: list[DOMNode] = [cast("Screen[object]", self)]  # mixed into Screens only
        while unseen:
            for child in unseen.pop().children:
                if not child.display:
                    continue
                if child.id == button_id:
                    return child if isinstance(child, Button) else None
                unseen.append(child)
        return None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "press_button":
            button = self._shown_button(parameters[0]) if parameters else None
            if button is None:
                return False  # no button: no key
            return None if button.disabled else True
        return cast(DOMNode, super()).check_action(action, parameters)

    def action_press_button(self, button_id: str) -> None:
        button = self._shown_button(button_id)
        if button is not None:
            button.press()  # a disabled button ignores it
