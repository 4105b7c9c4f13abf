"""Command palette entries: every screen of a logged-in session, nothing before that."""

from __future__ import annotations

from textual.command import DiscoveryHit, Hit, Hits, Provider

from qmfa_tui.widgets.qmfa_app import qmfa_app

NAVIGATION = (
    ("Customization > Users", "Filter users by 2FA; remove, resync, recovery codes", "users"),
    (
        "Customization > General Settings & Audit",
        "Mandatory 2FA, grace period, audit log",
        "settings",
    ),
    ("My Account", "Your details and two-step verification", "my_account"),
    ("Log out", "End this session and return to the login screen", "log_out"),
)


class NavigationCommands(Provider):
    def _commands(self) -> list[tuple[str, str, str]]:
        app = qmfa_app(self)
        if app.session is None:
            return []
        allowed = {"users": app.may_manage_users, "settings": app.is_admin}
        return [entry for entry in NAVIGATION if allowed.get(entry[2], True)]

    async def discover(self) -> Hits:
        for name, help_text, action in self._commands():
            yield DiscoveryHit(name, getattr(self.app, f"action_{action}"), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, action in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(name),
                    getattr(self.app, f"action_{action}"),
                    help=help_text,
                )
