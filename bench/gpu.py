"""`python -m bench gpu`: what the GPU's time costs around the model, on the fake ComfyUI.

- done_to_ready_ms_1mp / done_to_ready_ms_grid4: the fake's execution_success to our JobFinished
  (fetch, strip metadata, store) for one 1024x1024 image and a batch of four, median over a few
  jobs, with outputs as ComfyUI's SaveImage writes them (noisy pixels, compress level 4, prompt
  and workflow in text chunks). done_to_ready_clean says every stored file carried no metadata.
"""
from __future__ import annotations

import asyncio
import json
import logging
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import select

from bench.scheduler import WORKFLOW, Rig
from core.jobs import JobRequest
from core.store import JobRow

READY_JOBS, READY_EXEC_MS = 12, 300.0
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
