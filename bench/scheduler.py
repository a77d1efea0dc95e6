"""`python -m bench scheduler`: does the GPU ever wait for the bot, and what does the queue cost?

Everything runs in one process: the real JobService on a SQLite file, real ComfyClients over
HTTP + ws, and the fake ComfyUI (which records when each prompt starts and finishes).

- idle_gap_ms_p50: 200 jobs from 50 users, exec 200 ms on one backend; the median time the
  fake spent idle between finishing one job and starting the next (target < 5 ms).
- overhead_ms_per_job: same run; wall time per job not spent executing: (makespan - sum of
  execution times) / jobs. finish_latency_ms_p50: fake's execution_success -> our JobFinished
  (fetch, strip metadata, store, publish), which runs while the GPU works on the next job.
- throughput_jobs_s: exec 0, jobs queued while paused, then resumed: finished jobs per second.
- scaling / scaling_4_backends: throughput with 1, 2, 4 fake backends at a fixed exec time,
  and the 4-vs-1 ratio (4.0 would be perfect).
- rss_mb_10k_queued: process RSS with 10,000 jobs waiting (and the growth they caused).
- These figures measure the queue, so the fake makes small one-colour (64x64) images here: it runs
  in this process, and making real-looking PNGs (which ComfyUI does in its own process on the GPU
  machine) would measure the fake, not us. Real-size images are measured by done_to_ready_* below.
- GPU time (bench/gpu.py): first come first served and model-aware side by side on a mixed queue
  (mixed_*), 16 backends (scaling_16_backends), result ready after ComfyUI is done (done_to_ready_*).
- stranded_after_outage (target 0): 100 jobs on PostgreSQL reached through a TCP proxy; 1 s
  into the run the proxy cuts the database off for 10 s, then lets it through again. Jobs that are
  then not finished in the database, or never announced as finished, or still hold their user's
  slot, are stranded. outage_refused: submissions during the outage answered DATABASE_UNAVAILABLE.
  Without a PostgreSQL on 127.0.0.1:5432 the figure is null (outage_skipped says why).
"""
from __future__ import annotations

import asyncio
import json
import logging
import statistics
import tempfile
import time
from pathlib import Path

import psutil

from comfy.client import ComfyClient
from comfy.workflows import load_workflows
from core.errors import JobRefused
from core.events import EventBus
from core.jobs import JobCancelled, JobFailed, JobFinished, JobRequest, RefusalCode
from core.jobservice import JobService
from core.paths import AppPaths, resource_root
from core.settings import Settings
from core.store import Database
from tests.fake_comfyui import FakeComfyUI
from tests.tcp_proxy import TcpProxy

SHIPPED_OBJECT_INFO = resource_root() / "tests" / "fixtures" / "object_info" / "shipped_models.json"
WORKFLOW = "z_image_turbo"

QUEUE_OUTPUT_SIZE = (64, 64)
GAP_JOBS, GAP_USERS, GAP_EXEC_MS = 200, 50, 200.0
THROUGHPUT_JOBS = 400
SCALING_JOBS, SCALING_EXEC_MS = 80, 50.0
QUEUED_JOBS = 10_000
OUTAGE_JOBS, OUTAGE_EXEC_MS, OUTAGE_AFTER_S, OUTAGE_S = 100, 50.0, 1.0, 10.0
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


class TimedFake(FakeComfyUI):
    """The fake, also noting when each prompt starts executing. (The fake builds its object_info
    once and reuses it per POST /prompt, so validation costs it about what it costs ComfyUI.)"""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.started_at: dict[str, float] = {}

    async def _execute(self, item) -> None:
        self.started_at[item.prompt_id] = time.perf_counter()
        await super()._execute(item)


class Rig:
    """Fakes + clients + database + service for one measurement, torn down after. Subclasses
    choose the fakes (`start_fakes`) and the settings (`settings`)."""

    def __init__(self, backends: int, exec_ms: float, root: Path, database_url: str | None = None,
                 **service_options) -> None:
        self.backends, self.exec_ms, self.root = backends, exec_ms, root
        self.database_url, self.service_options = database_url, service_options
        self.fakes: list[FakeComfyUI] = []
        self.finished: dict[int, float] = {}
        self.ended: set[int] = set()
        self.all_done = asyncio.Event()
        self.expected = 0

    async def start_fakes(self) -> list[str]:
        """The fake ComfyUIs (in this process, one-colour 64x64 outputs: these figures measure the queue); their URLs."""
        extra = json.loads(SHIPPED_OBJECT_INFO.read_text())
        self.fakes = [TimedFake(exec_ms=self.exec_ms, progress_steps=1, extra_object_info=extra,
                                output_size=QUEUE_OUTPUT_SIZE, flat_outputs=True)
                      for _ in range(self.backends)]
        return [await fake.start() for fake in self.fakes]

    def settings(self) -> dict:
        return dict(user_job_limit=QUEUED_JOBS, queue_cap=QUEUED_JOBS * 2)

    async def __aenter__(self) -> "Rig":
        urls = await self.start_fakes()
        self.paths = AppPaths(config_dir=self.root / "config", data_dir=self.root / "data")
        self.db = await Database.open(self.database_url, self.paths.data_dir)
        self.bus = EventBus()
        self.bus.subscribe(JobFinished, self._on_finished)
        for kind in (JobFinished, JobFailed, JobCancelled):
            self.bus.subscribe(kind, lambda event: self.ended.add(event.job_id))
        self.clients = [ComfyClient(url, reconnect_min_s=0.05) for url in urls]
        settings = Settings(paths=self.paths, comfy_urls=tuple(urls), **self.settings())
        self.service = JobService(db=self.db, bus=self.bus, settings=settings,
                                  workflows=load_workflows(resource_root() / "flujos"),
                                  backends=self.clients, paths=self.paths, **self.service_options)
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

    async def queue_paused(self, jobs: int, users: int) -> list[int]:
        await self.service.pause()
        ids = []
        for n in range(jobs):
            request = JobRequest(user_id=n % users, user_name=f"user{n % users}", workflow=WORKFLOW,
                                 prompt=f"bench job {n}", width=256, height=256)
            ids.append((await self.service.submit(request)).job.id)
        self.expected = jobs
        return ids

    async def run(self) -> float:
        """Resume and wait until every queued job finished; returns the makespan in seconds."""
        started = time.perf_counter()
        await self.service.resume()
        await asyncio.wait_for(self.all_done.wait(), timeout=300)
        return time.perf_counter() - started


def _gaps_ms(fake: TimedFake) -> list[float]:
    runs = sorted((start, fake.finished_at[pid]) for pid, start in fake.started_at.items() if pid in fake.finished_at)
    return [(nxt[0] - prev[1]) * 1000 for prev, nxt in zip(runs, runs[1:])]


async def _idle_gap(root: Path) -> dict:
    async with Rig(1, GAP_EXEC_MS, root) as rig:
        await rig.queue_paused(GAP_JOBS, GAP_USERS)
        makespan = await rig.run()
        fake = rig.fakes[0]
        gaps = _gaps_ms(fake)
        executing = sum(fake.finished_at[p] - s for p, s in fake.started_at.items() if p in fake.finished_at)
        prompt_job = {}
        async with rig.db.sessions() as session:
            from sqlalchemy import select

            from core.store import JobRow
            for job_id, prompt_id in (await session.execute(select(JobRow.id, JobRow.prompt_id))).all():
                prompt_job[prompt_id] = job_id
        latencies = [(rig.finished[prompt_job[p]] - t) * 1000 for p, t in fake.finished_at.items()
                     if prompt_job.get(p) in rig.finished]
        return {
            "idle_gap_ms_p50": round(statistics.median(gaps), 3),
            "idle_gap_ms_max": round(max(gaps), 3),
            "overhead_ms_per_job": round((makespan - executing) / GAP_JOBS * 1000, 3),
            "finish_latency_ms_p50": round(statistics.median(latencies), 3),
            "gap_run_s": round(makespan, 2),
        }


async def _throughput(root: Path, backends: int, exec_ms: float, jobs: int) -> float:
    async with Rig(backends, exec_ms, root) as rig:
        await rig.queue_paused(jobs, 50)
        makespan = await rig.run()
        return jobs / makespan


async def _rss_10k(root: Path) -> dict:
    process = psutil.Process()
    async with Rig(1, 0.0, root) as rig:
        before = process.memory_info().rss
        await rig.queue_paused(QUEUED_JOBS, QUEUED_JOBS)
        after = process.memory_info().rss
        started = time.perf_counter()
        for _ in range(1000):
            rig.service.position(QUEUED_JOBS // 2)
        position_us = (time.perf_counter() - started) * 1000
        assert len(rig.service.queued()) == QUEUED_JOBS
        return {"rss_mb_10k_queued": round(after / 2**20, 1),
                "rss_growth_mb_10k_queued": round((after - before) / 2**20, 1),
                "position_us_10k_queued": round(position_us, 2)}


async def _outage(root: Path) -> dict:
    """A 10 s database outage in the middle of a run, through a proxy (the server keeps running)."""
    import uuid

    import psycopg
    from sqlalchemy import select

    from core.store import JobRow
    name = f"imagebot_bench_{uuid.uuid4().hex[:10]}"
    try:
        with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        return {"stranded_after_outage": None, "outage_skipped": f"no PostgreSQL on 127.0.0.1:5432 ({exc})"}
    proxy = await TcpProxy("127.0.0.1", 5432).start()
    try:
        url = f"postgresql://postgres@127.0.0.1:{proxy.port}/{name}?sslmode=disable"
        async with Rig(1, OUTAGE_EXEC_MS, root, url, store_retry_max_s=1.0, store_timeout_s=3.0) as rig:
            ids = await rig.queue_paused(OUTAGE_JOBS, 50)
            await rig.service.resume()
            await asyncio.sleep(OUTAGE_AFTER_S)
            proxy.cut()
            refused = 0
            outage_end = time.perf_counter() + OUTAGE_S
            while time.perf_counter() < outage_end:
                try:
                    await rig.service.submit(JobRequest(user_id=10**6, user_name="late", workflow=WORKFLOW,
                                                        prompt="during the outage", width=256, height=256))
                except JobRefused as exc:
                    refused += exc.code == RefusalCode.DATABASE_UNAVAILABLE
                await asyncio.sleep(0.5)
            proxy.restore()
            started = time.perf_counter()
            deadline = started + 120
            while not set(ids) <= rig.ended and time.perf_counter() < deadline:
                await asyncio.sleep(0.05)
            recovered_s = time.perf_counter() - started
            async with rig.db.sessions() as session:
                states = dict((await session.execute(select(JobRow.id, JobRow.state))).all())
            stranded = {i for i in ids if states.get(i) not in ("done", "failed", "cancelled")}
            stranded |= set(ids) - rig.ended
            stranded |= {job.id for job in rig.service.queued() if job.id in ids}
            return {"stranded_after_outage": len(stranded), "outage_refused": refused,
                    "outage_failed_jobs": sum(1 for i in ids if states.get(i) == "failed"),
                    "outage_recovered_s": round(recovered_s, 2)}
    finally:
        await proxy.stop()
        with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _main() -> dict:
    logging.basicConfig(level=logging.ERROR)
    results: dict = {}
    with tempfile.TemporaryDirectory(prefix="bench-scheduler-") as tmp:
        tmp = Path(tmp)
        results.update(await _idle_gap(tmp / "gap"))
        results["throughput_jobs_s"] = round(await _throughput(tmp / "tp", 1, 0.0, THROUGHPUT_JOBS), 1)
        scaling = {}
        for count in (1, 2, 4):
            scaling[str(count)] = round(await _throughput(tmp / f"scale{count}", count, SCALING_EXEC_MS,
                                                          SCALING_JOBS), 2)
        results["scaling"] = scaling
        results["scaling_4_backends"] = round(scaling["4"] / scaling["1"], 2)
        results["scaling_exec_ms"] = SCALING_EXEC_MS
        results.update(await _rss_10k(tmp / "rss"))
        results.update(await _outage(tmp / "outage"))
        from bench import gpu            # it builds on this module's fake
        results.update(await gpu.figures(tmp / "gpu"))
    return results


def main() -> int:
    started = time.perf_counter()
    results = asyncio.run(_main())
    results["bench_s"] = round(time.perf_counter() - started, 1)
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
