"""Worker threads borrow pooled connections for one service call and give them back."""

from __future__ import annotations

import threading

from qmfa_tui import storage
from qmfa_tui.errors import NotFound
from qmfa_tui.services import accounts, directory
from qmfa_tui.services.session import shell_actor
from qmfa_tui.services.user_filter import UserFilter

THREADS = 20  # more than the pool holds: only returned connections let them all pass


def run_in_threads(action, count: int = THREADS) -> list[object]:
    results: list[object] = []

    def worker() -> None:
        try:
            action()
            results.append(storage.db.is_closed())
        except Exception as error:
            results.append(error)

    for _ in range(count):  # one after another, as Textual's workers mostly are
        thread = threading.Thread(target=worker)
        thread.start()
        thread.join()
    return results


def test_each_worker_thread_returns_its_connection_and_the_next_reuses_it(database):
    results = run_in_threads(lambda: directory.count_users(shell_actor(), UserFilter()))
    assert results == [True] * THREADS  # closed again in the thread = back in the pool
    pool = storage.db.obj
    assert len(pool._in_use) == 1  # the opening thread's own connection
    assert len(pool._connections) == 1  # one connection served all twenty threads


def test_a_failing_call_returns_its_connection_too(database):
    results = run_in_threads(lambda: accounts.get_user(shell_actor(), "nobody"))
    assert all(isinstance(result, NotFound) for result in results)
    assert len(storage.db.obj._in_use) == 1


def test_closing_the_database_closes_pooled_connections(database):
    run_in_threads(lambda: directory.count_users(shell_actor(), UserFilter()), count=3)
    pool = storage.db.obj
    storage.close_database()
    assert pool._in_use == {} and pool._connections == []
