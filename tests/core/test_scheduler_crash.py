"""The service killed (SIGKILL) at random moments while it works through ~50 jobs on SQLite:
every job ends exactly once, runs in ComfyUI exactly once, and its user is told exactly once
(the outbox). The service runs in a child process (tests/core/crash_child.py); the fake ComfyUI
lives here and outlives every kill, as a real one would."""
from __future__ import annotations

import asyncio
import os
import random
import sys
from collections import defaultdict
from pathlib import Path

import pytest
from sqlalchemy import select

from core.paths import resource_root
from core.store import Database, JobRow
from tests.core.conftest import executed_prompts
from tests.fixtures_core import teach_shipped_models

JOBS = 50
ROUNDS = 2
KILLS_PER_ROUND = 6


class Child:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.lines: list[str] = []

    @classmethod
    async def start(cls, home: Path, comfy_url: str) -> "Child":
        root = resource_root()
        env = {**os.environ, "PYTHONPATH": str(root), "QT_QPA_PLATFORM": "offscreen"}
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.core.crash_child", str(home), comfy_url, str(JOBS), cwd=root, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
        return cls(process)

    async def wait_for(self, word: str, timeout: float) -> None:
        async def read() -> None:
            while word not in self.lines:
                line = await self.process.stdout.readline()
                if not line:
                    raise AssertionError(f"the child exited before saying {word} (said {self.lines})")
                self.lines.append(line.decode().strip())
        await asyncio.wait_for(read(), timeout)

    async def kill(self) -> None:
        if self.process.returncode is None:
            self.process.kill()
        await self.process.wait()


def read_log(home: Path) -> tuple[dict[int, int], dict[int, set[int]], dict[int, list[str]]]:
    status, finals, ended = {}, defaultdict(set), defaultdict(list)
    for line in (home / "discord.log").read_text().splitlines():
        kind, job, value = line.split()
        if kind == "status":
            status[int(job)] = int(value)
        elif kind == "final":
            finals[int(job)].add(int(value))
        elif kind == "ended":
            ended[int(job)].append(value)
    return status, finals, ended


async def stored(home: Path) -> list[JobRow]:
    db = await Database.open(None, home / "data")
    try:
        async with db.sessions() as session:
            return list((await session.scalars(select(JobRow))).all())
    finally:
        await db.close()


@pytest.mark.parametrize("round_", range(ROUNDS))
async def test_killed_at_random_moments_every_job_ends_and_is_delivered_exactly_once(tmp_path, fake_comfy,
                                                                                      round_):
    teach_shipped_models(fake_comfy)
    fake_comfy.exec_ms = 40
    rng = random.Random(1000 + round_)
    home = tmp_path / "home"
    child = await Child.start(home, fake_comfy.url)
    try:
        await child.wait_for("READY", timeout=60)
        for _ in range(KILLS_PER_ROUND):
            await asyncio.sleep(rng.uniform(0.0, 0.5))       # anywhere: recovering, posting, storing, telling
            await child.kill()
            child = await Child.start(home, fake_comfy.url)
            await child.wait_for("STARTED", timeout=60)
        await child.wait_for("IDLE", timeout=120)
    finally:
        await child.kill()

    rows = await stored(home)
    status, finals, ended = read_log(home)
    assert len(rows) == JOBS
    assert {row.state for row in rows} == {"done"}, [(r.id, r.state, r.error_text) for r in rows if r.state != "done"]
    assert all(row.delivered_at is not None for row in rows)
    for row in rows:
        assert len(ended[row.id]) <= 1, (row.id, ended[row.id])                   # ended once (or silently, if killed)
        assert finals[row.id] == {status[row.id]} == {row.feedback_message_id}   # told once, in its own message
        assert row.attempts == 1, (row.id, row.attempts)                         # no attempt burnt by a kill
    assert executed_prompts(fake_comfy) == {f"crash job {n}": 1 for n in range(JOBS)}   # none ran twice
