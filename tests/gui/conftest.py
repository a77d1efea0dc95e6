"""GUI test helpers. Tests here run on a qasync loop (tests/conftest.py): never call a blocking
qtbot.wait* inside an async test; poll with `until` (await asyncio.sleep) instead."""
from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import keyring
from aiohttp import web
import pytest
from keyring.backend import KeyringBackend

from core.events import EventBus
from core.paths import resource_root
from core.settings import Settings
from gui.services import GuiServices
from tests.gui.fakes import FakeJobService


async def until(predicate, timeout: float = 20.0, step: float = 0.01) -> None:
    """Let the loop run until `predicate()` holds; fail after `timeout` seconds (a budget for a loaded machine, not a speed target)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(step)


@pytest.fixture(autouse=True)
def no_quit_on_last_window(qapp):
    """As in the app (gui.app.create_application): a closed last window must not stop the qasync loop."""
    qapp.setQuitOnLastWindowClosed(False)


@pytest.fixture(autouse=True)
def confirmations(monkeypatch):
    """The admin's answers to "are you sure?" questions: yes unless a test sets `answer` to False, and
    Save to "Save your changes?" unless it sets `unsaved`. Records (title, text) of each question asked."""
    from gui.widgets import Unsaved

    class Answers(list):
        answer = True
        unsaved = Unsaved.SAVE          # the answer to "Save your changes?"

    asked = Answers()

    def confirm(parent, title, text):
        asked.append((title, text))
        return asked.answer

    def ask_unsaved(parent, title, text):
        asked.append((title, text))
        return asked.unsaved

    monkeypatch.setattr("gui.widgets.confirm", confirm)
    monkeypatch.setattr("gui.widgets.ask_unsaved", ask_unsaved)
    return asked


class MemoryKeyring(KeyringBackend):
    """A keyring backend that keeps passwords in a dict: the keyring API without a Secret Service."""
    priority = 1

    def __init__(self) -> None:
        super().__init__()
        self.passwords: dict[tuple[str, str], str] = {}

    def get_password(self, service, username):
        return self.passwords.get((service, username))

    def set_password(self, service, username, password):
        self.passwords[(service, username)] = password

    def delete_password(self, service, username):
        self.passwords.pop((service, username), None)


@pytest.fixture
def memory_keyring():
    """A working keyring for tests that are not about the keyring itself (those use `secret_service`)."""
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture
def workflows_copy(tmp_path) -> Path:
    """The shipped flujos/ in a private folder the test may change."""
    target = tmp_path / "flujos"
    shutil.copytree(resource_root() / "flujos", target, ignore=shutil.ignore_patterns("README*"))
    return target


@pytest.fixture
def gui_services(app_paths, workflows_copy):
    bus = EventBus()
    settings = Settings(paths=app_paths, workflows_dir=str(workflows_copy), allowed_guild_ids=(123456789012345678,),
                        discord_token="x" * 10)
    return GuiServices(settings=settings, paths=app_paths, bus=bus, job_service=FakeJobService(bus))


@pytest.fixture
async def not_comfy():
    """Another program's web server on a port ComfyUI might use."""
    async def page(request: web.Request) -> web.Response:
        return web.Response(text="<html>another app</html>", content_type="text/html")

    app = web.Application()
    app.router.add_get("/", page)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"
    await runner.cleanup()
