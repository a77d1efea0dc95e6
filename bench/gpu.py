"""`python -m bench gpu`: GPU time on the fake ComfyUI: model switches, many backends, real-size results.

- mixed_fifo_s / mixed_ours_s / mixed_speedup: 200 jobs from 50 users, two models (Z-Image Turbo,
  Flux Schnell) chosen at random 50/50, execution 300 ms, model load 1,500 ms, one backend with
  room for one model; first come first served, then our model-aware dispatch with the default
  fairness bound, on the same fake and the same jobs. mixed_max_extra_wait_s: the most any job
  started later than it did first come first served. mixed_ideal_ratio: our makespan over the
  lower bound (every execution plus one load per model); mixed_ideal_ratio_unbounded: the same
  with the bound off (MAX_BYPASS=0, MAX_EXTRA_WAIT_S=0). mixed_loads_*: model loads paid.
- scaling_16_backends: throughput with 16 fake backends over one (exec 2 s, all in this process:
  8 jobs a second is well within what the bot handles, see throughput_jobs_s).
- done_to_ready_ms_1mp / done_to_ready_ms_grid4: ComfyUI's execution_success (as our client
  receives it) to our JobFinished (fetch, strip metadata, store) for one 1024x1024 image and a
  batch of four, median over a few jobs, with outputs as ComfyUI's SaveImage writes them (noisy
  pixels, compress level 4, prompt and workflow in text chunks). The fake runs in its own process
  here, as ComfyUI does, so its work does not share our event loop. done_to_ready_clean says
  every stored file carried no metadata.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import select

from bench.scheduler import WORKFLOW, Rig, TimedFake
from comfy.events import PromptSucceeded
from core.jobs import JobRequest
from core.paths import resource_root
from core.store import JobRow
from tests.fixtures_core import SHIPPED_OBJECT_INFO, shipped_object_info

READY_JOBS, READY_EXEC_MS = 12, 300.0
# BENCH_QUICK=1 shrinks the mixed run (for trying changes; the figures above are the full one).
QUICK = os.environ.get("BENCH_QUICK") == "1"
MIXED_JOBS, MIXED_USERS, MIXED_EXEC_MS, MIXED_LOAD_MS = (60 if QUICK else 200), 50, 300.0, 1500.0
MIXED_WORKFLOWS = ("z_image_turbo", "flux_schnell")
SCALE_EXEC_MS, SCALE_JOBS_PER_BACKEND = 2000.0, (6 if QUICK else 12)


class GpuRig(Rig):
    """`backends` fakes that load models (in this process, or each in its own), clients, a SQLite
    database and the real JobService."""

    def __init__(self, root: Path, *, backends: int = 1, exec_ms: float, load_ms: float = 0.0,
                 own_process: bool = False, **settings) -> None:
        super().__init__(backends, exec_ms, root)
        self.load_ms, self.extra_settings, self.own_process = load_ms, settings, own_process
        self.processes: list[asyncio.subprocess.Process] = []
        self.succeeded: dict[str, float] = {}          # prompt_id -> when our client heard execution_success

    async def start_fakes(self) -> list[str]:
        if self.own_process:
            return [await self._launch() for _ in range(self.backends)]
        self.fakes = [TimedFake(exec_ms=self.exec_ms, progress_steps=1, extra_object_info=shipped_object_info(),
                                model_load_ms=self.load_ms, output_compress_level=1) for _ in range(self.backends)]
        return [await fake.start() for fake in self.fakes]

    def settings(self) -> dict:
        return dict(user_job_limit=10_000, queue_cap=20_000, **self.extra_settings)

    async def __aenter__(self) -> "GpuRig":
        await super().__aenter__()
        for client in self.clients:
            client.add_listener(self._on_comfy_event)
        return self

    async def __aexit__(self, *exc) -> None:
        await super().__aexit__(*exc)
        for process in self.processes:
            process.terminate()
            await process.wait()

    async def _launch(self) -> str:
        """`python -m tests.fake_comfyui` in its own process; its URL."""
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.fake_comfyui", "--listen", "127.0.0.1", "--port", "0",
            "--exec-ms", str(self.exec_ms), "--progress-steps", "1", "--model-load-ms", str(self.load_ms),
            "--extra-object-info", str(SHIPPED_OBJECT_INFO), cwd=resource_root(), stdout=asyncio.subprocess.PIPE)
        self.processes.append(process)
        while line := (await asyncio.wait_for(process.stdout.readline(), 30)).decode():
            if "go to: " in line:
                return line.split("go to: ", 1)[1].strip()
        raise RuntimeError("the fake ComfyUI did not start")

    def _on_comfy_event(self, event) -> None:
        if isinstance(event, PromptSucceeded):
            self.succeeded.setdefault(event.prompt_id, time.perf_counter())

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

    def executing_s(self) -> float:
        """Seconds the fakes spent executing (loads included)."""
        return sum(fake.finished_at[p] - t for fake in self.fakes for p, t in fake.started_at.items()
                   if p in fake.finished_at)

    @property
    def loads(self) -> int:
        return sum(len(fake.models.loads) for fake in self.fakes)


async def _mixed(root: Path) -> dict:
    rnd = random.Random(16)
    workflows = [rnd.choice(MIXED_WORKFLOWS) for _ in range(MIXED_JOBS)]
    runs = {}
    models = len(set(workflows))
    for name, options in (("fifo", dict(model_aware_dispatch=False)), ("ours", {}),
                          ("unbounded", dict(max_bypass=0, max_extra_wait_s=0))):
        async with GpuRig(root / name, exec_ms=MIXED_EXEC_MS, load_ms=MIXED_LOAD_MS, **options) as rig:
            makespan = await rig.run(workflows, MIXED_USERS)
            # The lower bound: every execution as the fake really took it (a few ms over exec_ms
            # each) and one load per model; the fake loads inside an execution, so the extra
            # loads are taken out.
            ideal = rig.executing_s() - (rig.loads - models) * MIXED_LOAD_MS / 1000
            runs[name] = (makespan, await rig.starts(), rig.loads, ideal)
    (fifo, fifo_starts, fifo_loads, _), (ours, our_starts, our_loads, ideal) = runs["fifo"], runs["ours"]
    unbounded, _, unbounded_loads, unbounded_ideal = runs["unbounded"]
    return {
        "mixed_jobs": MIXED_JOBS,
        "mixed_fifo_s": round(fifo, 2), "mixed_ours_s": round(ours, 2), "mixed_speedup": round(fifo / ours, 2),
        "mixed_max_extra_wait_s": round(max(0.0, max(our_starts[j] - fifo_starts[j] for j in our_starts)), 2),
        "mixed_ideal_s": round(ideal, 2), "mixed_ideal_ratio": round(ours / ideal, 3),
        "mixed_ideal_ratio_unbounded": round(unbounded / unbounded_ideal, 3),
        "mixed_loads_fifo": fifo_loads, "mixed_loads_ours": our_loads, "mixed_loads_unbounded": unbounded_loads,
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
    async with GpuRig(root, exec_ms=READY_EXEC_MS, own_process=True) as rig:
        await rig.service.pause()
        for n in range(READY_JOBS):
            await rig.service.submit(JobRequest(user_id=n, user_name=f"user{n}", workflow=WORKFLOW,
                                                prompt=f"ready {n}", width=1024, height=1024, batch_size=batch))
        rig.expected = READY_JOBS
        await rig.service.resume()
        await asyncio.wait_for(rig.all_done.wait(), timeout=300)
        async with rig.db.sessions() as session:
            prompt_job = dict((await session.execute(select(JobRow.prompt_id, JobRow.id))).all())
        latencies = [(rig.finished[prompt_job[p]] - t) * 1000 for p, t in rig.succeeded.items()
                     if prompt_job.get(p) in rig.finished]
        stored = list((root / "data" / "images").rglob("*.*"))
        clean = len(stored) == READY_JOBS * batch and not any(
            chunk in path.read_bytes() for path in stored for chunk in _TEXT_CHUNKS)
        return statistics.median(latencies), clean


async def figures(root: Path) -> dict:
    """Every figure above (`python -m bench scheduler` reports them too, beside its own)."""
    results = await _mixed(root / "mixed")
    results.update(await _scaling_16(root / "scale16"))
    one, clean_one = await _done_to_ready(root / "ready1", 1)
    grid, clean_grid = await _done_to_ready(root / "ready4", 4)
    results.update(done_to_ready_ms_1mp=round(one, 2), done_to_ready_ms_grid4=round(grid, 2),
                   done_to_ready_clean=clean_one and clean_grid)
    return results


async def _main() -> dict:
    logging.basicConfig(level=logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="bench-gpu-") as tmp:
        return await figures(Path(tmp))


def main() -> int:
    started = time.perf_counter()
    results = asyncio.run(_main())
    results["bench_s"] = round(time.perf_counter() - started, 1)
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
