from __future__ import annotations

import logging
from datetime import datetime, timezone

from comfy.supervisor import ComfyStateChanged, SupervisorState
from core.events import EventBus
from core.jobs import QueuePausedChanged
from core.logs import LogRing
from core.sessions import SessionChanged
from gui.bridge import CoreBridge
from tests.gui.fakes import FakeJobService, make_request


async def test_core_events_become_signals(qtbot):
    bus = EventBus()
    ring = LogRing()
    bridge = CoreBridge(bus, ring)
    seen: list[tuple[str, object]] = []
    for name in ("job_queued", "job_started", "job_progress", "job_finished", "job_cancelled", "queue_paused",
                 "comfy_state", "session_changed", "log_line"):
        getattr(bridge, name).connect(lambda value, name=name: seen.append((name, value)))
    service = FakeJobService(bus)
    accepted = await service.submit(make_request(1))
    job = service.start_next()
    service.progress(job.id, 1, 4, preview=b"\x89PNG")
    service.finish(job.id)
    await service.submit(make_request(2))
    await service.cancel(2)
    bus.publish(QueuePausedChanged(True))
    bus.publish(ComfyStateChanged(SupervisorState.RESTARTING, "http://127.0.0.1:8188", "crashed", True, 1))
    bus.publish(SessionChanged(5, 6, "kept", None))
    logger = logging.getLogger("bot.test")
    logger.addHandler(ring)
    try:
        logger.warning("hello from the bot")
    finally:
        logger.removeHandler(ring)

    names = [name for name, _ in seen]
    assert names == ["job_queued", "job_started", "job_progress", "job_finished", "job_queued", "job_cancelled",
                     "queue_paused", "comfy_state", "session_changed", "log_line"]
    assert seen[0][1].job_id == accepted.job.id
    assert seen[2][1].preview == b"\x89PNG"
    assert seen[6][1] is True
    assert "hello from the bot" in seen[-1][1].text

    bridge.close()
    bus.publish(QueuePausedChanged(False))
    assert len(seen) == 10          # unsubscribed


async def test_the_bot_state_reaches_the_tray():
    from core.status import BotStateChanged

    bus = EventBus()
    bridge = CoreBridge(bus)
    seen = []
    bridge.bot_state.connect(seen.append)
    bus.publish(BotStateChanged(True, "Connected"))
    assert seen == [BotStateChanged(True, "Connected")]
    bridge.close()


def test_unrelated_events_are_ignored():
    bus = EventBus()
    bridge = CoreBridge(bus)
    bus.publish(object())
    bus.publish(datetime.now(timezone.utc))
    bridge.close()
