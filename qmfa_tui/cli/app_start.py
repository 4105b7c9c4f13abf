"""Running the app: on the database the arguments name, painted before it opens."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from qmfa_tui.cli.common import DEMO_DATABASE, url_from_args
from qmfa_tui.errors import BadInput
from qmfa_tui.text import visible

if TYPE_CHECKING:
    from qmfa_tui.app import QmfaApp
    from qmfa_tui.storage import OpenDatabase


def run_tui(app: QmfaApp) -> int:
    """Run the app; a crash is one line on stderr and a non-zero exit code.

    A database the app could not open after its first paint is reported as if it had
    failed before the app started (``main`` prints it; the exit codes are the same).
    """
    app.run()
    if app.start_error is not None:
        raise app.start_error
    if app.crash_message is not None:
        print(app.crash_message, file=sys.stderr)
    return app.return_code or 0


def prepare_app(args: argparse.Namespace, *, open_after_paint: bool = False) -> QmfaApp:
    """The app on the database the arguments name, refused when nobody could log in.

    With ``open_after_paint`` the login screen paints first and the app opens the
    database right after (a worker; Log in waits for it): the first paint needs none of
    peewee, sqlite3, cryptography, argon2 or pyotp. Otherwise it is opened here, first.
    """
    url = url_from_args(args)
    from qmfa_tui.app import QmfaApp
    from qmfa_tui.served_limits import ServedLimits

    served = ServedLimits.from_environment()

    def open_for_login() -> OpenDatabase:
        # The hint is set before the app learns the database is open (Log in waits for it).
        opened, app.demo_hint = _open_for_login(args, url, served=served is not None)
        return opened

    if open_after_paint:
        app = QmfaApp(opener=open_for_login, served=served, settles_heap=True)
        return app
    opened, demo_hint = _open_for_login(args, url, served=served is not None)
    app = QmfaApp(opened, served=served, settles_heap=True)
    app.demo_hint = demo_hint
    return app


def demo_hint(args: argparse.Namespace, url: str, *, served: bool = False) -> str:
    """Who to log in as on a demo database, and the `qmfa demo codes` command that reads
    this database: --database only when it is not the default demo.db (never its password,
    never over `qmfa serve`: the server's paths are not the client's to see)."""
    from qmfa_tui.database_url import default_url, redact
    from qmfa_tui.services import demo

    if served:
        return visible(demo.hint(None))
    database = None if url == default_url(DEMO_DATABASE) else redact(url)
    return visible(demo.hint(demo.codes_command(database, getattr(args, "key_file", None))))


def _open_for_login(
    args: argparse.Namespace, url: str, *, served: bool = False
) -> tuple[OpenDatabase, str | None]:
    """The database, and the demo hint when it is a demo database."""
    from qmfa_tui import storage
    from qmfa_tui.services import accounts, demo

    opened = storage.open_database(url, key_file=getattr(args, "key_file", None), create=False)
    if not accounts.any_users():
        storage.close_database()
        raise BadInput(
            f"{opened.display_url} has no users yet: run `qmfa init` to create the "
            "first admin, or `qmfa demo` to try qmfa on demo users."
        )
    hint = demo_hint(args, url, served=served) if demo.is_demo_database() else None
    # One argon2 verify for every name from the first attempt on: made here, after the
    # first paint and before Log in can go on (it waits for the opener).
    accounts.prepare_dummy_hash()
    if not storage.db.is_closed():
        storage.db.close()  # back to the pool: the worker that opened it ends here
    return opened, hint
