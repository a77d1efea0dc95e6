"""The service in a child process, for the crash test (tests/core/test_scheduler_crash.py).

`python -m tests.core.crash_child HOME COMFY_URL JOBS` runs a JobService on the SQLite file under
HOME against the fake ComfyUI at COMFY_URL, plus a stand-in for the bot's delivery that "posts"
by appending lines to HOME/discord.log (a message per job, edited into the result):

    status <job> <message>   a status message was posted for the job (its id is stored first)
    final <job> <message>    the job's result/failure was put into that message
    ended <job> <state>      the service published the job's final event

The first run submits JOBS jobs, each with its status message, then prints READY. Every run
first delivers what ended undelivered (the outbox), then delivers each final event as it comes,
and prints IDLE once nothing is left to run or deliver (STARTED once the service runs). The parent kills it at random moments.
"""
from __future__ import annotations

import asyncio
import itertools
import os
import sys
from pathlib import Path

from comfy.client import ComfyClient
from comfy.workflows import load_workflows
from core.events import EventBus
from core.jobs import Job, JobCancelled, JobFailed, JobFinished, JobRequest
from core.jobservice import JobService
from core.paths import AppPaths, resource_root
from core.settings import Settings
from core.store import Database

WORKFLOW = "z_image_turbo"


class Discord:
    """Appends each post/edit to a log and fsyncs it: what a user would have seen survives a kill."""

    def __init__(self, path: Path) -> None:
        self._file = path.open("a", encoding="utf-8")
        self._ids = itertools.count(int.from_bytes(os.urandom(4), "big") << 16)

    def write(self, line: str) -> None:
        self._file.write(line + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())

    def new_message_id(self) -> int:
        return next(self._ids)


async def deliver(service: JobService, discord: Discord, job: Job) -> None:
    """Like the bot: edit the stored status message into the result, then mark it delivered."""
    message = job.feedback_message_id
    if message is None:                       # never happens here: every job got one when queued
        message = discord.new_message_id()
        await service.set_feedback_message(job.id, message)
    discord.write(f"final {job.id} {message}")
    await service.mark_delivered(job.id)


async def main(home: Path, comfy_url: str, jobs: int) -> None:
    paths = AppPaths(config_dir=home / "config", data_dir=home / "data")
    db = await Database.open(None, paths.data_dir)
    bus = EventBus()
    discord = Discord(home / "discord.log")
    settings = Settings(paths=paths, comfy_urls=(comfy_url,), user_job_limit=jobs, queue_cap=jobs * 2)
    client = ComfyClient(comfy_url, request_timeout=5.0, reconnect_min_s=0.02, reconnect_max_s=0.2)
    service = JobService(db=db, bus=bus, settings=settings, workflows=load_workflows(resource_root() / "flujos"),
                         backends=[client], paths=paths, position_interval_s=0.01, probe_interval_s=0.05)
    deliveries: asyncio.Queue[Job] = asyncio.Queue()

    def on_final(event) -> None:
        discord.write(f"ended {event.job_id} {event.job.state.value}")
        deliveries.put_nowait(event.job)
    bus.subscribe(JobFinished, on_final)
    bus.subscribe(JobFailed, on_final)
    bus.subscribe(JobCancelled, on_final)
    await service.start()
    print("STARTED", flush=True)
    for job in await service.undelivered():
        await deliver(service, discord, job)
    if not (home / "submitted").exists():
        for n in range(jobs):
            accepted = await service.submit(JobRequest(user_id=1 + n % 5, user_name="crash", workflow=WORKFLOW,
                                                       prompt=f"crash job {n}", width=256, height=256))
            message = discord.new_message_id()
            await service.set_feedback_message(accepted.job.id, message)
            discord.write(f"status {accepted.job.id} {message}")
        (home / "submitted").touch()
        print("READY", flush=True)
    while True:
        try:
            job = await asyncio.wait_for(deliveries.get(), timeout=0.2)
        except TimeoutError:
            if not service.queued() and not await service.undelivered():
                print("IDLE", flush=True)
                await asyncio.sleep(3600)
            continue
        await deliver(service, discord, job)


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])))
