"""One tray app per user and config folder: a local socket on Linux, a named pipe on Windows."""
from __future__ import annotations

import uuid

from gui.single_instance import SingleInstance
from tests.gui.conftest import until


async def test_a_second_launch_asks_the_first_to_come_forward(qtbot):
    name = f"ImageBotTest-{uuid.uuid4().hex[:8]}"
    first, second = SingleInstance(name), SingleInstance(name)
    asked = []
    first.activated.connect(lambda: asked.append(True))
    try:
        assert first.acquire()
        assert not second.acquire()
        await until(lambda: asked)
    finally:
        first.release()
    third = SingleInstance(name)  # the first one quit: the next launch runs
    try:
        assert third.acquire()
    finally:
        third.release()
