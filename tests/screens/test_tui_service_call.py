"""screens/service_call.py: a service's answer reaches the screen as the message made of
it, a refusal as one ServiceFailed for that screen alone, in the screen's message order."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from helpers import admin
from textual import work
from textual.app import App
from textual.message import Message
from textual.screen import Screen
from tui import SIZE, wait_until

from qmfa_tui.errors import NotFound
from qmfa_tui.screens.service_call import ServiceFailed, call_service
from qmfa_tui.services import accounts
from qmfa_tui.services.accounts import UserInfo
from qmfa_tui.services.session import Actor


class Asking(Screen[None]):
    @dataclass
    class Read(Message):
        user: UserInfo

    def __init__(self, actor: Actor) -> None:
        super().__init__()
        self.actor = actor
        self.heard: list[Message] = []

    @work(thread=True, exclusive=True)
    def read(self, username: str) -> None:
        call_service(self, partial(accounts.get_user, self.actor, username), self.Read, name="read")

    @work(thread=True, exclusive=True)
    def read_quietly(self, username: str) -> None:
        call_service(self, partial(accounts.get_user, self.actor, username), lambda _: None)

    def on_asking_read(self, message: Read) -> None:
        self.heard.append(message)

    def on_service_failed(self, failed: ServiceFailed) -> None:
        self.heard.append(failed)


class Host(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.heard_by_app: list[Message] = []

    def on_service_failed(self, failed: ServiceFailed) -> None:
        self.heard_by_app.append(failed)


async def test_the_answer_is_the_message_made_of_it(database, fixed_clock):
    boss = admin()
    app = Host()
    async with app.run_test(size=SIZE) as pilot:
        screen = Asking(boss)
        await app.push_screen(screen)
        screen.read("admin")
        await wait_until(pilot, lambda: bool(screen.heard))
        (heard,) = screen.heard
        assert isinstance(heard, Asking.Read)
        assert heard.user.username == "admin"


async def test_a_refusal_is_one_service_failed_for_the_asking_screen_alone(database, fixed_clock):
    boss = admin()
    app = Host()
    async with app.run_test(size=SIZE) as pilot:
        screen = Asking(boss)
        await app.push_screen(screen)
        screen.read("nobody")
        await wait_until(pilot, lambda: bool(screen.heard))
        await app.workers.wait_for_complete()
        await pilot.pause()
        (heard,) = screen.heard
        assert isinstance(heard, ServiceFailed)
        assert isinstance(heard.error, NotFound)
        assert heard.name == "read"
        assert heard.message == heard.error.message and "nobody" in heard.message
        assert app.heard_by_app == []  # it does not bubble to the app


async def test_an_answer_made_into_no_message_posts_nothing(database, fixed_clock):
    boss = admin()
    app = Host()
    async with app.run_test(size=SIZE) as pilot:
        screen = Asking(boss)
        await app.push_screen(screen)
        screen.read_quietly("admin")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert screen.heard == []
        screen.read_quietly("nobody")  # a refusal is still said
        await wait_until(pilot, lambda: bool(screen.heard))
        assert isinstance(screen.heard[0], ServiceFailed)
