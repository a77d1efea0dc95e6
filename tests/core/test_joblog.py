"""The host's log tells each job's life in one line per step: who, which model, how long."""
from __future__ import annotations

import logging
from datetime import datetime, timezone
from pathlib import Path

from core.events import EventBus
from core.joblog import log_job_lifecycle
from core.jobs import (Job, JobCancelled, JobFailed, JobFinished, JobProgress, JobQueued, JobRequest, JobStarted,
                       JobState, Priority)


def job() -> Job:
    request = JobRequest(user_id=7, user_name="mira", workflow="z_image_turbo", prompt="a secret prompt")
    return Job(id=12, request=request, state=JobState.QUEUED, priority=Priority.USER,
               created_at=datetime.now(timezone.utc))


async def test_each_step_of_a_job_is_one_line(caplog):
    bus = EventBus()
    unsubscribe = log_job_lifecycle(bus)
    caplog.set_level(logging.INFO, logger="core.jobs")
    j = job()
    bus.publish(JobQueued(12, 7, j, 3))
    bus.publish(JobStarted(12, 7, j, "http://127.0.0.1:8188"))
    bus.publish(JobProgress(12, 7, 1, 4))
    bus.publish(JobFinished(12, 7, j, (Path("a.png"),), 3.04, 14.2, 1, "http://127.0.0.1:8188"))
    bus.publish(JobFailed(12, 7, j, "comfy_error", "ComfyUI lost this job"))
    bus.publish(JobCancelled(12, 7, j, 99))
    lines = [r.getMessage() for r in caplog.records if r.name == "core.jobs"]
    assert lines == [
        "job #12 queued at position 3 (mira, z_image_turbo)",
        "job #12 started on http://127.0.0.1:8188 (mira, z_image_turbo)",
        "job #12 finished in 14.2 s after waiting 3.0 s, 1 image(s) (mira, z_image_turbo)",
        "job #12 failed: ComfyUI lost this job (mira, z_image_turbo)",
        "job #12 cancelled by an admin (mira, z_image_turbo)",
    ]
    assert [r.levelno for r in caplog.records if r.name == "core.jobs"][3] == logging.WARNING
    assert not any("secret prompt" in line for line in lines)
    unsubscribe()
    await bus.close()
