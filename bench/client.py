"""`python -m bench client`: how soon our client holds a finished job's image, pushed vs polled.

Runs the fake ComfyUI in-process (fixed execution time per job). For each job the delay is
measured from the moment the fake finished it (its recorded execution_success timestamp) to the
moment the client holds the output image bytes. "push": ComfyClient over /ws, N jobs queued at
once. "poll": the original bot's way, GET /history/{id} every 2 s from submit (fewer jobs, they
take ~2 s each; they run concurrently to keep the bench short).
"""
from __future__ import annotations

import asyncio
import json
import statistics
import time

from comfy.client import ComfyClient
from tests.fake_comfyui import FakeComfyUI

PUSH_JOBS = 30
POLL_JOBS = 5
EXEC_MS = 50.0
POLL_INTERVAL_S = 2.0


def _workflow(seed: int) -> dict:
    return {
        "1": {"class_type": "EmptyImage", "inputs": {"width": 64, "height": 64, "batch_size": 1, "color": 0}},
        "2": {"class_type": "ImageAddNoise", "inputs": {"image": ["1", 0], "seed": seed, "strength": 0.5}},
        "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "bench/job"}},
    }


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


async def _push(fake: FakeComfyUI) -> list[float]:
    async with ComfyClient(fake.url) as client:
        await client.connect()

        async def one(seed: int) -> float:
            submitted = await client.submit(_workflow(seed))
            result = await client.wait(submitted.prompt_id)
            await client.view(result.images[0])
            return (time.perf_counter() - fake.finished_at[submitted.prompt_id]) * 1000

        return list(await asyncio.gather(*(one(seed) for seed in range(PUSH_JOBS))))


async def _poll(fake: FakeComfyUI) -> list[float]:
    async with ComfyClient(fake.url) as client:  # no websocket at all

        async def one(seed: int) -> float:
            submitted = await client.submit(_workflow(10_000 + seed))
            while True:
                await asyncio.sleep(POLL_INTERVAL_S)
                entry = await client.history(submitted.prompt_id)
                if entry is not None:
                    break
            await client.view(entry.images[0])
            return (time.perf_counter() - fake.finished_at[submitted.prompt_id]) * 1000

        return list(await asyncio.gather(*(one(seed) for seed in range(POLL_JOBS))))


async def _run() -> dict:
    async with FakeComfyUI(exec_ms=EXEC_MS) as fake:
        push = await _push(fake)
        poll = await _poll(fake)
    return {
        "bench": "client", "exec_ms": EXEC_MS,
        "push_n": len(push), "push_median_ms": round(statistics.median(push), 2), "push_p95_ms": round(_p95(push), 2),
        "poll_n": len(poll), "poll_interval_s": POLL_INTERVAL_S,
        "poll_median_ms": round(statistics.median(poll), 1), "poll_p95_ms": round(_p95(poll), 1),
    }


def main() -> int:
    print(json.dumps(asyncio.run(_run())))
    return 0
