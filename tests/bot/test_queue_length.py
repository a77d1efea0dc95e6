"""One queue length everywhere: the status message's "Queue: N" and /queue's "N jobs waiting" are
the same number (before, a status said "Pos 12 · Queue 12" while /queue said "14 jobs")."""
from __future__ import annotations

import re

import pytest

from tests.bot.conftest import World

MODEL = "z_image_turbo"





@pytest.mark.parametrize("world_options", [{"user_job_limit": 3}])
async def test_the_status_and_queue_say_the_same_queue_length(world: World, gate):
    w = world
    await w.job_service.pause()          # the jobs start from the test, not inside the bot's commands
    for n in range(3):
        await w.bob.slash(w.general, "imagine", model=MODEL, prompt=f"bob {n}")
    await w.alice.slash(w.general, "imagine", model=MODEL, prompt="mine")
    session = w.session_of(w.alice)
    await w.job_service.resume()
    # bob's three went to ComfyUI (running/pending/prepared): alice's waits alone with us
    await w.until(lambda: len(w.job_service.snapshot().waiting) == 1, advance=1)
    await w.until(lambda: "Queue:" in (session.last_message.content or ""), advance=2)
    shown = int(re.search(r"Queue: (\d+)", session.last_message.content).group(1))
    r = await w.alice.slash(w.general, "queue")
    listed = int(re.search(r"Queue: (\d+) jobs? waiting", r.response.content).group(1))
    assert shown == listed == w.job_service.queue_length() == 1
    for _ in range(4):
        gate.release()
