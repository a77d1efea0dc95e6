"""`python -m bench gpu`: what the GPU's time costs around the model, on the fake ComfyUI.

- mixed_fifo_s / mixed_ours_s / mixed_speedup: 200 jobs from 50 users, two models (Z-Image Turbo,
  Flux Schnell) chosen at random 50/50, execution 300 ms, model load 1,500 ms, one backend with
  room for one model; first come first served, then our model-aware dispatch with the default
  fairness bound, on the same fake and the same jobs. mixed_max_extra_wait_s: the most any job
  started later than it did first come first served. mixed_ideal_ratio: our makespan over the
  lower bound (every execution plus one load per model); mixed_ideal_ratio_unbounded: the same
  with the bound off (MAX_BYPASS=0, MAX_EXTRA_WAIT_S=0). mixed_loads_*: model loads paid.
- scaling_16_backends: throughput with 16 fake backends over one (exec 500 ms).
- done_to_ready_ms_1mp / done_to_ready_ms_grid4: the fake's execution_success to our JobFinished
  (fetch, strip metadata, store) for one 1024x1024 image and a batch of four, median over a few
  jobs, with outputs as ComfyUI's SaveImage writes them (noisy pixels, compress level 4, prompt
  and workflow in text chunks). done_to_ready_clean says every stored file carried no metadata.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import select

from bench.scheduler import WORKFLOW, Rig, TimedFake
from comfy.client import ComfyClient
from comfy.workflows import load_workflows
from core.events import EventBus
from core.jobs import JobFinished, JobRequest
from core.jobservice import JobService
from core.paths import AppPaths, resource_root
from core.settings import Settings
from core.store import Database, JobRow
from tests.fixtures_core import shipped_object_info

READY_JOBS, READY_EXEC_MS = 12, 300.0
# BENCH_QUICK=1 shrinks the mixed run (for trying changes; the figures above are the full one).
QUICK = os.environ.get("BENCH_QUICK") == "1"
MIXED_JOBS, MIXED_USERS, MIXED_EXEC_MS, MIXED_LOAD_MS = (60 if QUICK else 200), 50, 300.0, 1500.0
MIXED_WORKFLOWS = ("z_image_turbo", "flux_schnell")
SCALE_EXEC_MS, SCALE_JOBS_PER_BACKEND = 500.0, (8 if QUICK else 24)


class GpuRig:
    """`backends` fakes that load models, clients, a SQLite database and the real JobService."""

    def __init__(self, root: Path, *, backends: int = 1, exec_ms: float, load_ms: float = 0.0,
                 **settings) -> None:
        self.root, self.count, self.exec_ms, self.load_ms, self.settings = root, backends, exec_ms, load_ms, settings
        self.finished: dict[int, float] = {}
        self.all_done = asyncio.Event()
        self.expected = 0

    async def __aenter__(self) -> "GpuRig":
        self.fakes = [TimedFake(exec_ms=self.exec_ms, progress_steps=1, extra_object_info=shipped_object_info(),
                                model_load_ms=self.load_ms, output_compress_level=1) for _ in range(self.count)]
        for fake in self.fakes:
            await fake.start()
        paths = AppPaths(config_dir=self.root / "config", data_dir=self.root / "data")
        self.db = await Database.open(None, paths.data_dir)
        self.bus = EventBus()
        self.bus.subscribe(JobFinished, self._on_finished)
        self.clients = [ComfyClient(f.url, reconnect_min_s=0.05) for f in self.fakes]
        settings = Settings(paths=paths, comfy_urls=tuple(f.url for f in self.fakes), user_job_limit=10_000,
                            queue_cap=20_000, **self.settings)
        self.service = JobService(db=self.db, bus=self.bus, settings=settings,
                                  workflows=load_workflows(resource_root() / "flujos"), backends=self.clients,
                                  paths=paths)
        await self.service.start()
        for client in self.clients:
            await client.connect(wait=True)
        while not all(up for _, up in self.service.backend_status()):
            await asyncio.sleep(0.01)
        return self

    async def __aexit__(self, *exc) -> None:
        await self.service.stop()
        for client in self.clients:
            await client.close()
        await self.db.close()
        for fake in self.fakes:
            await fake.stop()

    def _on_finished(self, event: JobFinished) -> None:
        self.finished[event.job_id] = time.perf_counter()
        if len(self.finished) >= self.expected:
            self.all_done.set()

    async def run(self, workflows: list[str], users: int) -> float:
        """Queue the jobs while paused (job n uses workflows[n]), resume, wait for all; the makespan."""
        await self.service.pause()
        for n, workflow in enumerate(workflows):
            await self.service.submit(JobRequest(user_id=n % users, user_name=f"user{n % users}", workflow=workflow,
                                                 prompt=f"bench job {n}", width=256, height=256))
        self.expected = len(workflows)
        self.resumed = time.perf_counter()
        await self.service.resume()
        await asyncio.wait_for(self.all_done.wait(), timeout=900)
        return time.perf_counter() - self.resumed

    async def starts(self) -> dict[int, float]:
        """Job id -> seconds from resume to the fake starting it."""
        async with self.db.sessions() as session:
            job_of = dict((await session.execute(select(JobRow.prompt_id, JobRow.id))).all())
        return {job_of[p]: t - self.resumed for fake in self.fakes for p, t in fake.started_at.items() if p in job_of}

    @property
    def loads(self) -> int:
        return sum(len(fake.models.loads) for fake in self.fakes)


async def _mixed(root: Path) -> dict:
    rnd = random.Random(16)
    workflows = [rnd.choice(MIXED_WORKFLOWS) for _ in range(MIXED_JOBS)]
    runs = {}
    for name, options in (("fifo", dict(model_aware_dispatch=False)), ("ours", {}),
                          ("unbounded", dict(max_bypass=0, max_extra_wait_s=0))):
        async with GpuRig(root / name, exec_ms=MIXED_EXEC_MS, load_ms=MIXED_LOAD_MS, **options) as rig:
            makespan = await rig.run(workflows, MIXED_USERS)
            runs[name] = (makespan, await rig.starts(), rig.loads)
    ideal = (MIXED_JOBS * MIXED_EXEC_MS + len(set(workflows)) * MIXED_LOAD_MS) / 1000
    (fifo, fifo_starts, fifo_loads), (ours, our_starts, our_loads) = runs["fifo"], runs["ours"]
    return {
        "mixed_jobs": MIXED_JOBS,
        "mixed_fifo_s": round(fifo, 2), "mixed_ours_s": round(ours, 2), "mixed_speedup": round(fifo / ours, 2),
        "mixed_max_extra_wait_s": round(max(0.0, max(our_starts[j] - fifo_starts[j] for j in our_starts)), 2),
        "mixed_ideal_s": round(ideal, 2), "mixed_ideal_ratio": round(ours / ideal, 3),
        "mixed_ideal_ratio_unbounded": round(runs["unbounded"][0] / ideal, 3),
        "mixed_loads_fifo": fifo_loads, "mixed_loads_ours": our_loads, "mixed_loads_unbounded": runs["unbounded"][2],
    }


async def _throughput(root: Path, backends: int, jobs: int) -> float:
    async with GpuRig(root, backends=backends, exec_ms=SCALE_EXEC_MS) as rig:
        makespan = await rig.run([WORKFLOW] * jobs, 50)
        return jobs / makespan


async def _scaling_16(root: Path) -> dict:
    one = await _throughput(root / "one", 1, SCALE_JOBS_PER_BACKEND)
    sixteen = await _throughput(root / "sixteen", 16, 16 * SCALE_JOBS_PER_BACKEND)
    return {"scaling_16_backends": round(sixteen / one, 2), "scaling_16_jobs_s": round(sixteen, 2),
            "scaling_1_jobs_s": round(one, 2), "scaling_16_exec_ms": SCALE_EXEC_MS}
_TEXT_CHUNKS = (b"tEXt", b"zTXt", b"iTXt", b"eXIf")


async def _done_to_ready(root: Path, batch: int) -> tuple[float, bool]:
    async with Rig(1, READY_EXEC_MS, root) as rig:
        await rig.service.pause()
        for n in range(READY_JOBS):
            await rig.service.submit(JobRequest(user_id=n, user_name=f"user{n}", workflow=WORKFLOW,
                                                prompt=f"ready {n}", width=1024, height=1024, batch_size=batch))
        rig.expected = READY_JOBS
        await rig.run()
        async with rig.db.sessions() as session:
            prompt_job = dict((await session.execute(select(JobRow.prompt_id, JobRow.id))).all())
        fake = rig.fakes[0]
        latencies = [(rig.finished[prompt_job[p]] - t) * 1000 for p, t in fake.finished_at.items()
                     if prompt_job.get(p) in rig.finished]
        stored = list((rig.paths.data_dir / "images").rglob("*.*"))
        clean = len(stored) == READY_JOBS * batch and not any(
            chunk in path.read_bytes() for path in stored for chunk in _TEXT_CHUNKS)
        return statistics.median(latencies), clean


async def _main() -> dict:
    logging.basicConfig(level=logging.ERROR)
    results: dict = {}
    with tempfile.TemporaryDirectory(prefix="bench-gpu-") as tmp:
        tmp = Path(tmp)
        results.update(await _mixed(tmp / "mixed"))
        results.update(await _scaling_16(tmp / "scale16"))
        one, clean_one = await _done_to_ready(tmp / "ready1", 1)
        grid, clean_grid = await _done_to_ready(tmp / "ready4", 4)
        results.update(done_to_ready_ms_1mp=round(one, 2), done_to_ready_ms_grid4=round(grid, 2),
                       done_to_ready_clean=clean_one and clean_grid)
    return results


def main() -> int:
    started = time.perf_counter()
    results = asyncio.run(_main())
    results["bench_s"] = round(time.perf_counter() - started, 1)
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
