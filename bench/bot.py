"""`python -m bench bot`: the Discord bot's cost per job under a long queue.

200 jobs queued by 50 users through /imagine in an offline Discord (simcord), run by the real
JobService against the in-process fake ComfyUI (5 ms per job). The queue is paused while they
are queued, then resumed, as after a busy minute. Prints one JSON line:

edits_per_job        message edits (PATCH) per job: countdown, progress and the final result
rest_calls_per_job   every REST call the bot made, per job (interaction answers, session channels,
                     status messages, edits, the result upload)
delivery_median_ms   from JobFinished on the bus (ComfyUI done, image stored) to the result message
delivery_p95_ms      sent, median and 95th percentile
channel_edits_5s_max the most message edits in one channel within 5 s (Discord allows about 5)
wall_s               the whole run
"""
from __future__ import annotations

import asyncio
import json
import logging
import statistics
import tempfile
import time
from pathlib import Path

USERS = 50
JOBS_PER_USER = 4
EXEC_MS = 5.0
HOME = 111111111111111111
MODEL = "z_image_turbo"


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


async def _run() -> dict:
    import discord
    import simcord
    import simcord.http.router

    from bot.bot import ImageBot
    from comfy.client import ComfyClient
    from comfy.workflows import load_workflows
    from core.events import EventBus
    from core.guildprefs import GuildPrefsStore
    from core.jobservice import JobService
    from core.paths import AppPaths, resource_root
    from core.sessions import SessionService
    from core.settings import Settings
    from core.store import Database
    from tests.fake_comfyui import FakeComfyUI

    started = time.perf_counter()
    home = Path(tempfile.mkdtemp(prefix="imagebot-bench-bot-"))
    paths = AppPaths(config_dir=home / "config", data_dir=home / "data")
    fake = FakeComfyUI(exec_ms=EXEC_MS, progress_steps=2)
    await fake.start()
    shipped = resource_root() / "tests" / "fixtures" / "object_info" / "shipped_models.json"
    fake._object_info.update(json.loads(shipped.read_text()))
    db = await Database.open(None, paths.data_dir)
    bus = EventBus()
    settings = Settings(paths=paths, allowed_guild_ids=(HOME,), comfy_urls=(fake.url,),
                        user_job_limit=JOBS_PER_USER, queue_cap=1000)
    client = ComfyClient(fake.url, request_timeout=10.0)
    service = JobService(db=db, bus=bus, settings=settings, workflows=load_workflows(resource_root() / "flujos"),
                         backends=[client], paths=paths)
    await service.start()
    sessions = SessionService(db=db, bus=bus, settings=settings)
    bot = ImageBot(job_service=service, session_service=sessions, prefs=GuildPrefsStore(db), bus=bus, settings=settings)
    env = simcord.Env(bot, settle_timeout=2.0)
    edit_times: dict[str, list[float]] = {}       # channel path -> virtual seconds of each edit
    dispatch = simcord.http.router.dispatch

    def timed(backend, method, path, **kwargs):
        if method == "PATCH" and "/messages/" in path:
            edit_times.setdefault(path.split("/messages/")[0], []).append(env.now().timestamp())
        return dispatch(backend, method, path, **kwargs)

    simcord.http.router.dispatch = timed
    guild = env.create_guild("Home", id=HOME)
    general = guild.create_text_channel("general")
    members = [guild.add_member(env.create_user(f"user{i:02d}")) for i in range(USERS)]
    await env.start()
    try:
        with env.time_context():
            bot.tree.copy_global_to(guild=discord.Object(HOME))
            await bot.tree.sync(guild=discord.Object(HOME))
            await env.settle()
            first_request = len(env.http_requests)
            await service.pause()
            for round_ in range(JOBS_PER_USER):
                for member in members:
                    result = await member.slash(general, "imagine", model=MODEL, prompt=f"job {round_} of {member.name}")
                    if "is queued" not in result.response.content:
                        raise RuntimeError(f"not queued: {result.response.content}")
            total = USERS * JOBS_PER_USER
            await service.resume()
            deadline = time.perf_counter() + 100
            while len(bot.feedback.delivery_latencies_s) < total:
                if time.perf_counter() > deadline:
                    raise RuntimeError(f"only {len(bot.feedback.delivery_latencies_s)} of {total} results delivered")
                await asyncio.sleep(0.05)
            await env.settle()
            requests = env.http_requests[first_request:]
            edits = [r for r in requests if r.method == "PATCH" and "/messages/" in r.path]
            latencies = [s * 1000 for s in bot.feedback.delivery_latencies_s]
    finally:
        await env.shutdown()
        await service.stop()
        await client.close()
        await db.close()
        await fake.stop()
        simcord.http.router.dispatch = dispatch
    busiest = max(sum(1 for u in times if t - 5.0 < u <= t) for times in edit_times.values() for t in times)
    return {
        "jobs": total,
        "users": USERS,
        "edits_per_job": round(len(edits) / total, 2),
        "rest_calls_per_job": round(len(requests) / total, 2),
        "delivery_median_ms": round(statistics.median(latencies), 1),
        "delivery_p95_ms": round(_p95(latencies), 1),
        "channel_edits_5s_max": busiest,
        "wall_s": round(time.perf_counter() - started, 1),
    }


def main() -> int:
    logging.basicConfig(level=logging.ERROR)
    print(json.dumps(asyncio.run(_run())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
