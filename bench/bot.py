"""`python -m bench bot`: the Discord bot's cost per job, in an offline Discord (simcord), with the
real JobService and the in-process fake ComfyUI (5 ms per job). Three runs, one JSON line:

Queue run: 200 single-image jobs queued by 50 users through /imagine while the queue is paused,
then resumed, as after a busy minute.
edits_per_job        message edits (PATCH) per job: countdown, progress and the final result
rest_calls_per_job   every REST call the bot made, per job (interaction answers, session channels,
                     status messages, edits, the result upload)
delivery_median_ms   from JobFinished on the bus (ComfyUI done, image stored) to the result message
delivery_p95_ms      sent, median and 95th percentile
channel_edits_5s_max the most message edits in one channel within 5 s (Discord allows about 5)

Grid run: 40 jobs of 4 images (512x512 each) by 20 users, delivered as one 2x2 grid each.
grid_delivery_median_ms / grid_delivery_p95_ms   as above, making the grid included
grid_edits_per_job, grid_channel_edits_5s_max    as above
over_limit_edits     edits beyond 5 per 5 s in one channel, both runs (Discord would answer 429)
grid_compose_1024_ms making one grid of four 1024x1024 noise images (the worst case), alone

Latency run: every Discord call the bot makes takes 100 ms more (a real wait); one /imagine by a
user without a session channel on an idle queue.
imagine_to_prompt_ms     from the command to the prompt being sent to ComfyUI
discord_calls_before_prompt  Discord calls the bot waited for before that (1: the defer)

wall_s               the whole run
"""
from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import shutil
import statistics
import tempfile
import time
from contextlib import asynccontextmanager
from pathlib import Path

USERS = 50
JOBS_PER_USER = 4
GRID_USERS = 20
GRID_JOBS_PER_USER = 2
GRID_COUNT = 4
GRID_SIDE = 512
EXEC_MS = 5.0
DISCORD_LATENCY_MS = 100.0
CHANNEL_EDITS, CHANNEL_WINDOW_S = 5, 5.0
HOME = 111111111111111111
MODEL = "z_image_turbo"


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def _workflows(folder: Path, side: int | None):
    """The shipped workflows; with `side`, the imagine model makes side x side images by default."""
    from comfy.workflows import load_workflows
    from core.paths import resource_root

    shutil.copytree(resource_root() / "flujos", folder)
    if side is not None:
        manifest_path = folder / f"{MODEL}.manifest.json"
        manifest = json.loads(manifest_path.read_text())
        manifest["defaults"].update(width=side, height=side)
        manifest_path.write_text(json.dumps(manifest))
    return load_workflows(folder)


@asynccontextmanager
async def _world(*, users: int, job_limit: int, side: int | None = None):
    """A started bot in an offline Discord, its JobService and the fake ComfyUI; yields (env, bot,
    service, general, members, fake)."""
    import discord
    import simcord

    from bot.bot import ImageBot
    from comfy.client import ComfyClient
    from core.events import EventBus
    from core.guildprefs import GuildPrefsStore
    from core.jobservice import JobService
    from core.paths import AppPaths, resource_root
    from core.sessions import SessionService
    from core.settings import Settings
    from core.store import Database
    from tests.fake_comfyui import FakeComfyUI

    home = Path(tempfile.mkdtemp(prefix="imagebot-bench-bot-"))
    paths = AppPaths(config_dir=home / "config", data_dir=home / "data")
    fake = FakeComfyUI(exec_ms=EXEC_MS, progress_steps=2)
    await fake.start()
    shipped = resource_root() / "tests" / "fixtures" / "object_info" / "shipped_models.json"
    fake._object_info.update(json.loads(shipped.read_text()))
    db = await Database.open(None, paths.data_dir)
    bus = EventBus()
    settings = Settings(paths=paths, allowed_guild_ids=(HOME,), comfy_urls=(fake.url,),
                        user_job_limit=job_limit, queue_cap=1000)
    client = ComfyClient(fake.url, request_timeout=10.0)
    service = JobService(db=db, bus=bus, settings=settings, workflows=_workflows(home / "flujos", side),
                         backends=[client], paths=paths)
    await service.start()
    sessions = SessionService(db=db, bus=bus, settings=settings)
    bot = ImageBot(job_service=service, session_service=sessions, prefs=GuildPrefsStore(db), bus=bus, settings=settings)
    env = simcord.Env(bot, settle_timeout=30.0)   # a budget for a loaded machine; the figures are measured, not this
    guild = env.create_guild("Home", id=HOME)
    general = guild.create_text_channel("general")
    members = [guild.add_member(env.create_user(f"user{i:02d}")) for i in range(users)]
    await env.start()
    try:
        with env.time_context():
            await env.settle()          # the bot published its commands by itself
            assert bot.tree.get_commands(guild=discord.Object(HOME))
            yield env, bot, service, general, members, fake
    finally:
        await env.shutdown()
        await service.stop()
        await client.close()
        await db.close()
        await fake.stop()
        shutil.rmtree(home, ignore_errors=True)


def _edit_recorder(env):
    """Record each message edit's virtual time per channel; returns (times by channel, undo)."""
    import simcord.http.router

    edit_times: dict[str, list[float]] = {}
    dispatch = simcord.http.router.dispatch

    def timed(backend, method, path, **kwargs):
        if method == "PATCH" and "/messages/" in path:
            edit_times.setdefault(path.split("/messages/")[0], []).append(env.now().timestamp())
        return dispatch(backend, method, path, **kwargs)

    simcord.http.router.dispatch = timed
    return edit_times, lambda: setattr(simcord.http.router, "dispatch", dispatch)


def _busiest(edit_times: dict[str, list[float]]) -> tuple[int, int]:
    """(most edits in one channel within the window, edits beyond the limit in any window)."""
    busiest, over = 0, 0
    for times in edit_times.values():
        for t in times:
            in_window = sum(1 for u in times if t - CHANNEL_WINDOW_S < u <= t)
            busiest = max(busiest, in_window)
            over += in_window > CHANNEL_EDITS
    return busiest, over


async def _queue_run(*, users: int, jobs_per_user: int, count: int | None, side: int | None, prefix: str) -> dict:
    async with _world(users=users, job_limit=jobs_per_user, side=side) as (env, bot, service, general, members, _):
        edit_times, undo = _edit_recorder(env)
        try:
            first_request = len(env.http_requests)
            await service.pause()
            options = {"count": count} if count else {}
            for round_ in range(jobs_per_user):
                for member in members:
                    result = await member.slash(general, "imagine", model=MODEL, prompt=f"job {round_} of {member.name}",
                                                **options)
                    if "is queued" not in result.response.content:
                        raise RuntimeError(f"not queued: {result.response.content}")
            total = users * jobs_per_user
            await service.resume()
            deadline = time.perf_counter() + 200
            while len(bot.feedback.delivery_latencies_s) < total:
                if time.perf_counter() > deadline:
                    raise RuntimeError(f"only {len(bot.feedback.delivery_latencies_s)} of {total} results delivered")
                await asyncio.sleep(0.05)
            await env.settle()
            requests = env.http_requests[first_request:]
        finally:
            undo()
    edits = [r for r in requests if r.method == "PATCH" and "/messages/" in r.path]
    latencies = [s * 1000 for s in bot.feedback.delivery_latencies_s]
    busiest, over = _busiest(edit_times)
    return {
        f"{prefix}jobs": total,
        f"{prefix}edits_per_job": round(len(edits) / total, 2),
        f"{prefix}rest_calls_per_job": round(len(requests) / total, 2),
        f"{prefix}delivery_median_ms": round(statistics.median(latencies), 1),
        f"{prefix}delivery_p95_ms": round(_p95(latencies), 1),
        f"{prefix}channel_edits_5s_max": busiest,
        f"{prefix}over_limit_edits": over,
    }


async def _latency_run() -> dict:
    """Every Discord call waits DISCORD_LATENCY_MS first; the time from the command to the prompt
    leaving for ComfyUI is measured for real."""
    import simcord.http.client

    from comfy.client import ComfyClient

    async with _world(users=1, job_limit=4) as (env, bot, service, general, members, fake):
        calls = 0
        seen_at_prompt: list[tuple[float, int]] = []
        originals = simcord.http.client.FakeHTTPClient.request, simcord.http.client.FakeWebhookAdapter.request

        def counted(original):
            async def request(self, *args, **kwargs):
                nonlocal calls
                # A real wait in a worker thread: simcord's virtual clock does not skip it.
                await asyncio.get_running_loop().run_in_executor(None, time.sleep, DISCORD_LATENCY_MS / 1000)
                result = await original(self, *args, **kwargs)
                calls += 1                     # the bot waited for this answer
                return result
            return request

        submit = ComfyClient.submit

        async def prompt_sent(self, *args, **kwargs):
            seen_at_prompt.append((time.perf_counter(), calls))
            return await submit(self, *args, **kwargs)

        ComfyClient.submit = prompt_sent
        simcord.http.client.FakeHTTPClient.request = counted(originals[0])
        simcord.http.client.FakeWebhookAdapter.request = counted(originals[1])
        try:
            calls = 0
            started = time.perf_counter()
            await members[0].slash(general, "imagine", model=MODEL, prompt="a lighthouse")
            deadline = time.perf_counter() + 30
            while not seen_at_prompt and time.perf_counter() < deadline:
                await asyncio.sleep(0.005)
        finally:
            simcord.http.client.FakeHTTPClient.request, simcord.http.client.FakeWebhookAdapter.request = originals
            ComfyClient.submit = submit
    if not seen_at_prompt:
        raise RuntimeError("the prompt never reached ComfyUI")
    at, before = seen_at_prompt[0]
    return {"imagine_to_prompt_ms": round((at - started) * 1000, 1), "discord_calls_before_prompt": before}


def _compose_cost_ms() -> float:
    from PIL import Image

    from core.grid import compose

    images = []
    for _ in range(GRID_COUNT):
        out = io.BytesIO()
        Image.frombytes("RGB", (1024, 1024), os.urandom(1024 * 1024 * 3)).save(out, format="PNG", compress_level=1)
        images.append(out.getvalue())
    started = time.perf_counter()
    compose(images)
    return round((time.perf_counter() - started) * 1000, 1)


async def _run() -> dict:
    started = time.perf_counter()
    figures = await _queue_run(users=USERS, jobs_per_user=JOBS_PER_USER, count=None, side=None, prefix="")
    figures.pop("over_limit_edits")
    grid = await _queue_run(users=GRID_USERS, jobs_per_user=GRID_JOBS_PER_USER, count=GRID_COUNT, side=GRID_SIDE,
                            prefix="grid_")
    figures.update(users=USERS, **grid)
    figures["over_limit_edits"] = figures.pop("grid_over_limit_edits")
    figures["grid_compose_1024_ms"] = await asyncio.to_thread(_compose_cost_ms)
    figures.update(await _latency_run())
    figures["wall_s"] = round(time.perf_counter() - started, 1)
    return figures


def main() -> int:
    logging.basicConfig(level=logging.ERROR)
    print(json.dumps(asyncio.run(_run())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
