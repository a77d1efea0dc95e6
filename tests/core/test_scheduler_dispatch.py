"""Model-aware dispatch in the running scheduler: jobs whose model is loaded go first within the
fairness bound, each model goes to the backend that holds it, the positions shown are the order
jobs really run in, and a backend that reports no usable GPU memory runs first come first served.
Against the fake ComfyUI, which charges a load for every model switch."""
from __future__ import annotations

import logging

import pytest

from core.jobs import JobFinished, JobPositionChanged, JobQueued, QueueSnapshot
from tests.core.conftest import prompt_text, received_texts
from tests.fake_comfyui import FakeComfyUI
from tests.fixtures_core import IMAGINE, shipped_object_info

FLUX = "flux_schnell"
ZIMAGE = IMAGINE


async def queue_paused(service, job_request, workflows: list[str], **extra) -> list[int]:
    """Jobs 'job 0', 'job 1'... with these workflows, queued while the queue is paused."""
    await service.pause()
    ids = []
    for n, workflow in enumerate(workflows):
        request = job_request(user_id=n, user_name=f"user{n}", workflow=workflow, prompt=f"job {n}", **extra)
        ids.append((await service.submit(request)).job.id)
    return ids


def ran(fake) -> list[int]:
    """Job numbers in the order the fake received (and so ran) them."""
    return [int(text.split()[-1]) for text in received_texts(fake)]


def workflow_of(fake) -> dict[int, str]:
    return {int(prompt_text(b["prompt"]).split()[-1]): ("flux" if any(
        n.get("class_type") == "UnetLoaderGGUF" for n in b["prompt"].values()) else "zimage")
        for b in fake.received_prompts}


MIXED = [ZIMAGE, FLUX, ZIMAGE, FLUX, ZIMAGE, FLUX, ZIMAGE, FLUX]


async def test_jobs_for_the_loaded_model_go_first_and_the_order_shown_is_the_order_they_run(
        make_job_service, job_request, core_events, fake_comfy):
    service = await make_job_service(max_bypass=3)
    fake_comfy.models.load_ms = 30
    ids = await queue_paused(service, job_request, MIXED)
    promised = [service.position(job_id) for job_id in ids]
    etas = [service.eta_s(job_id) for job_id in ids]
    snapshot_order = list(service.snapshot().waiting)
    await service.resume()
    await core_events.wait_final(ids)
    order = ran(fake_comfy)
    assert order == [0, 2, 4, 6, 1, 3, 5, 7]                         # two loads instead of eight
    assert len(fake_comfy.models.loads) == 2
    assert [ids[n] for n in order] == snapshot_order
    assert [promised[n] for n in order] == list(range(1, 9))        # position n ran n-th
    assert [etas[n] for n in order] == sorted(etas)                   # and the ETAs count up in that order


async def test_no_job_is_passed_over_by_more_than_max_bypass_later_jobs(make_job_service, job_request, core_events,
                                                                      fake_comfy):
    service = await make_job_service(max_bypass=2)
    ids = await queue_paused(service, job_request, [ZIMAGE, FLUX, ZIMAGE, ZIMAGE, ZIMAGE, ZIMAGE, FLUX])
    await service.resume()
    await core_events.wait_final(ids)
    order = ran(fake_comfy)
    passed_by = {n: sum(1 for later in order[:order.index(n)] if later > n) for n in order}
    assert max(passed_by.values()) == 2 and order.index(1) == 3       # job 1 (Flux) went after two passes


async def test_first_come_first_served_when_turned_off(make_job_service, job_request, core_events, fake_comfy):
    service = await make_job_service(model_aware_dispatch=False)
    ids = await queue_paused(service, job_request, MIXED)
    await service.resume()
    await core_events.wait_final(ids)
    assert ran(fake_comfy) == list(range(8)) and len(fake_comfy.models.loads) == 8


async def test_priorities_still_come_first(make_job_service, job_request, core_events, fake_comfy):
    service = await make_job_service()
    await service.pause()
    first = await service.submit(job_request(user_id=1, workflow=ZIMAGE, prompt="job 0"))
    normal = await service.submit(job_request(user_id=2, workflow=ZIMAGE, prompt="job 1"))
    urgent = await service.submit(job_request(user_id=3, workflow=FLUX, prompt="job 2", is_admin=True))
    assert service.position(urgent.job.id) == 1
    await service.resume()
    await core_events.wait_final([first.job.id, normal.job.id, urgent.job.id])
    assert ran(fake_comfy) == [2, 0, 1]


async def test_positions_published_while_waiting_follow_the_run_order(make_job_service, job_request, core_events,
                                                                     fake_comfy):
    service = await make_job_service()
    ids = await queue_paused(service, job_request, [FLUX, ZIMAGE, FLUX, ZIMAGE])

    def shown() -> dict[int, int]:      # what each job's user was last told (JobQueued, then changes)
        return {e.job_id: e.position for e in core_events.events if isinstance(e, (JobQueued, JobPositionChanged))}
    await core_events.wait_for(lambda: shown() == {ids[0]: 1, ids[2]: 2, ids[1]: 3, ids[3]: 4})
    await service.resume()
    await core_events.wait_final(ids)
    assert ran(fake_comfy) == [0, 2, 1, 3]


async def test_the_eta_counts_the_model_loads(make_job_service, job_request, fake_comfy):
    service = await make_job_service()
    eta = service._eta
    for _ in range(3):
        eta.record(ZIMAGE, fake_comfy.url, 2.0)
        eta.record(FLUX, fake_comfy.url, 2.0)
    eta.record(FLUX, fake_comfy.url, 7.0, loaded=True)                # a load costs 5 s there
    ids = await queue_paused(service, job_request, [ZIMAGE, ZIMAGE, FLUX])
    etas = [service.eta_s(job_id) for job_id in ids]
    assert etas == pytest.approx([2.0 + 5.0, 4.0 + 5.0, 6.0 + 10.0])   # nothing loaded yet, then one switch


async def test_each_model_goes_to_the_backend_that_holds_it(make_job_service, job_request, core_events, fake_comfy):
    other = FakeComfyUI(exec_ms=20, progress_steps=1, extra_object_info=shipped_object_info())
    await other.start()
    try:
        service = await make_job_service(urls=[fake_comfy.url, other.url])
        warm = await queue_paused(service, job_request, [FLUX, ZIMAGE])      # one model to each backend
        await service.resume()
        await core_events.wait_final(warm)
        flux_backend = fake_comfy if "flux" in workflow_of(fake_comfy).values() else other
        zimage_backend = other if flux_backend is fake_comfy else fake_comfy
        ids = await queue_paused(service, job_request, [ZIMAGE, FLUX] * 4)
        await service.resume()
        await core_events.wait_final(ids)
        assert set(workflow_of(flux_backend).values()) == {"flux"}
        assert set(workflow_of(zimage_backend).values()) == {"zimage"}
        assert len(flux_backend.models.loads) == len(zimage_backend.models.loads) == 1
    finally:
        await other.stop()


@pytest.mark.parametrize("report", [
    {"vram_total": None, "vram_free": None},                       # fields missing
    {"vram_total": 8 * 2**30, "vram_free": 24 * 2**30},            # more free than there is
])
async def test_a_backend_with_a_nonsense_memory_report_runs_first_come_first_served(
        make_job_service, job_request, core_events, fake_comfy, caplog, report):
    for name, value in report.items():
        if value is None:
            del fake_comfy.device[name]
            fake_comfy.device.pop("torch_" + name, None)
        else:
            fake_comfy.device[name] = value
    caplog.set_level(logging.WARNING, logger="core.dispatch")
    service = await make_job_service()
    ids = await queue_paused(service, job_request, [ZIMAGE, FLUX, ZIMAGE, FLUX])
    await core_events.wait_for(lambda: "reports no usable GPU memory figures" in caplog.text)
    await service.resume()
    await core_events.wait_final(ids)
    assert ran(fake_comfy) == [0, 1, 2, 3]
    assert all(core_events.of(JobFinished, job_id) for job_id in ids)       # never stalls


async def test_sixteen_backends_share_the_work(make_job_service, job_request, core_events, fake_comfy):
    fakes = [FakeComfyUI(exec_ms=20, progress_steps=1, extra_object_info=shipped_object_info(),
                         output_compress_level=1) for _ in range(15)]
    for fake in fakes:
        await fake.start()
    try:
        service = await make_job_service(urls=[fake_comfy.url] + [f.url for f in fakes], user_job_limit=100)
        ids = await queue_paused(service, job_request, [ZIMAGE, FLUX] * 32)
        await service.resume()
        await core_events.wait_final(ids, timeout=60)
        assert all(core_events.of(JobFinished, job_id) for job_id in ids)
        counts = [len(f.finished_at) for f in [fake_comfy, *fakes]]
        assert sum(counts) == 64 and all(counts)                            # every backend worked
        snapshot = service.snapshot()
        assert isinstance(snapshot, QueueSnapshot) and len(snapshot.backends) == 16
    finally:
        for fake in fakes:
            await fake.stop()
