"""JobService against the fake ComfyUI over real HTTP + ws, on SQLite."""
from __future__ import annotations

import io

from PIL import Image

from core.jobs import JobFinished, JobStarted, JobProgress, JobQueued, JobState


async def test_submit_runs_to_the_end(job_service, job_request, core_events, fake_comfy, app_paths):
    accepted = await job_service.submit(job_request())
    assert accepted.position == 1 and accepted.job.state == JobState.QUEUED
    await core_events.wait_final([accepted.job.id])
    finished = core_events.of(JobFinished, accepted.job.id)
    assert len(finished) == 1
    event = finished[0]
    assert event.backend == fake_comfy.url and event.seed == accepted.job.seed
    assert len(event.images) == 1 and event.images[0].is_file()
    assert b"tEXt" not in event.images[0].read_bytes()
    assert core_events.of(JobStarted, accepted.job.id)
    assert core_events.of(JobProgress, accepted.job.id)
    job = await job_service.get(accepted.job.id)
    assert job.state == JobState.DONE and job.outputs == list(event.images)
