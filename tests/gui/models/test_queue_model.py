from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from core.events import EventBus
from core.jobs import JobState
from gui.bridge import CoreBridge
from gui.models.queue_model import COL_POSITION, COL_PROGRESS, COL_STATE, COL_USER, ProgressRole, QueueModel
from tests.gui.fakes import FakeJobService, make_request


@pytest.fixture
def live():
    """A queue model fed through the real bridge by a fake JobService's events."""
    bus = EventBus()
    bridge = CoreBridge(bus)
    model = QueueModel(tick_ms=0)
    model.connect_bridge(bridge)
    yield SimpleNamespace(bus=bus, service=FakeJobService(bus), model=model)


def texts(model, column):
    return [model.index(r, column).data() for r in range(model.rowCount())]


async def test_bridge_events_become_rows_in_run_order(live, qtmodeltester):
    service, model = live.service, live.model
    qtmodeltester.check(model, force_py=True)

    for n in range(4):
        await service.submit(make_request(n))
    assert texts(model, COL_USER) == ["user0", "user1", "user2", "user3"]
    assert texts(model, COL_POSITION) == ["1", "2", "3", "4"]

    await service.move(4, -2)          # user3 two places earlier
    assert texts(model, COL_USER) == ["user0", "user3", "user1", "user2"]

    counts = []
    model.counts_changed.connect(lambda waiting, active: counts.append((waiting, active)))
    job = service.start_next()
    assert texts(model, COL_POSITION)[0] == "▶"
    assert model.index(0, COL_STATE).data() == "running"
    service.progress(job.id, 2, 4)
    model.refresh_times()
    assert model.index(0, COL_PROGRESS).data() == "50%"
    assert model.index(0, COL_PROGRESS).data(ProgressRole) == (2, 4)
    assert counts == [(3, 1)]          # once for the start; progress and time ticks change no count

    service.finish(job.id)
    await service.cancel(2)
    assert texts(model, COL_USER) == ["user3", "user2"]
    assert texts(model, COL_POSITION) == ["1", "2"]
    qtmodeltester.check(model, force_py=True)


async def test_admin_jumps_ahead_and_snapshot_reset(live, qtmodeltester):
    service, model = live.service, live.model
    for n in range(3):
        await service.submit(make_request(n))
    await service.submit(make_request(9, user="admin", is_admin=True))
    assert texts(model, COL_USER)[0] == "admin"

    fresh = QueueModel(tick_ms=0)
    fresh.reset_jobs(service.queued(), {j.id: service.position(j.id) for j in service.queued()})
    qtmodeltester.check(fresh)
    assert texts(fresh, COL_USER) == texts(model, COL_USER)
    assert fresh.counts() == (4, 0)


async def test_thousand_rows_stay_consistent(live, qtmodeltester):
    service, model = live.service, live.model
    for n in range(1000):
        await service.submit(make_request(n))
    assert model.rowCount() == 1000
    for _ in range(10):
        job = service.start_next()
        service.finish(job.id)
    assert model.rowCount() == 990
    assert model.index(0, COL_POSITION).data() == "1"
    assert all(model.job_at(r).state is JobState.QUEUED for r in range(model.rowCount()))
    await asyncio.sleep(0)


async def test_a_job_handed_to_comfyui_leaves_the_waiting_places_once(live, qtmodeltester):
    from core.jobs import JobPositionChanged, JobStarted

    bus, service, model = live.bus, live.service, live.model
    jobs = [(await service.submit(make_request(n))).job for n in range(3)]
    assert texts(model, COL_POSITION) == ["1", "2", "3"]

    first = jobs[0]
    bus.publish(JobPositionChanged(first.id, first.user_id, position=0, queue_length=2, eta_s=None))
    assert texts(model, COL_POSITION) == ["▶", "1", "2"]
    assert model.index(0, COL_STATE).data() == "in ComfyUI"
    bus.publish(JobStarted(first.id, first.user_id, job=first, backend="http://127.0.0.1:8188"))
    assert texts(model, COL_POSITION) == ["▶", "1", "2"]   # not shifted a second time
    assert model.index(0, COL_STATE).data() == "running"
    qtmodeltester.check(model, force_py=True)
