"""The scheduler under faults: retries and re-dispatch, ComfyUI down then up, several backends,
and restarts of the service itself (every job ends exactly once, none runs twice). Against the
fake ComfyUI over real HTTP + ws; the main cases on SQLite, a subset on PostgreSQL and MariaDB."""
from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace

import pytest
from sqlalchemy import select

from comfy.supervisor import ComfyStateChanged, SupervisorState
from comfy.workflows import WorkflowSet
from core.jobs import JobCancelled, JobFailed, JobFinished, JobStarted, JobState
from core.store import Database, JobRow
from tests.core.conftest import eventually, executed_prompts, received_texts
from tests.fake_comfyui import FakeComfyUI
from tests.fixtures_core import IMAGINE, shipped_object_info


async def kill(service) -> None:
    """The process dies: tasks stop where they are, nothing is written, sockets drop."""
    scheduler = service._scheduler
    scheduler._running = False
    await scheduler.tasks.close()
    for backend in scheduler.backends:
        backend.client.remove_listener(backend.listener)
    for client in service.test_clients:
        await client.close()


async def states(db: Database) -> dict[int, str]:
    async with db.sessions() as session:
        return {row.id: row.state for row in (await session.scalars(select(JobRow))).all()}


def finals(events) -> list[int]:
    return [e.job_id for e in events.events if isinstance(e, (JobFinished, JobFailed, JobCancelled))]


# ---- failures and retries --------------------------------------------------------------------

async def test_http_500_is_retried(job_service, job_request, core_events, fake_comfy):
    fake_comfy.fail_http("/prompt", times=1, status=500)
    accepted = await job_service.submit(job_request())
    await core_events.wait_final([accepted.job.id])
    assert core_events.of(JobFinished, accepted.job.id)
    job = await job_service.get(accepted.job.id)
    assert job.state == JobState.DONE and job.attempts == 2
    assert executed_prompts(fake_comfy) == {"a red fox in the snow": 1}


async def test_gives_up_after_max_attempts(make_job_service, job_request, core_events, fake_comfy):
    service = await make_job_service(max_attempts=2)
    fake_comfy.fail_http("/prompt", times=10, status=503)
    accepted = await service.submit(job_request())
    await core_events.wait_final([accepted.job.id])
    [failed] = core_events.of(JobFailed, accepted.job.id)
    assert failed.code == "retries_exhausted" and "2 times" in failed.text and "503" in failed.text
    job = await service.get(accepted.job.id)
    assert job.state == JobState.FAILED and job.attempts == 2 and job.error_code == "retries_exhausted"


async def test_execution_error_fails_at_once(job_service, job_request, core_events, fake_comfy):
    fake_comfy.fail_next_prompt(exception_type="torch.OutOfMemoryError",
                                message="Allocation on device failed at /home/me/ComfyUI/comfy/model.py")
    accepted = await job_service.submit(job_request())
    await core_events.wait_final([accepted.job.id])
    [failed] = core_events.of(JobFailed, accepted.job.id)
    assert failed.code == "comfy_error" and "OutOfMemoryError" in failed.text
    assert "/home/me" not in failed.text
    assert len(fake_comfy.received_prompts) == 1 and (await job_service.get(accepted.job.id)).attempts == 1


async def test_rejected_workflow_fails_at_once(job_service, job_request, core_events, fake_comfy):
    workflows = job_service._workflow_set
    template = workflows.get(IMAGINE)
    broken = template.with_manifest(template.manifest.with_model_value("1", "unet_name", "missing.safetensors"))
    job_service.set_workflows(WorkflowSet({**workflows.templates, IMAGINE: broken}, []))
    accepted = await job_service.submit(job_request())
    await core_events.wait_final([accepted.job.id])
    [failed] = core_events.of(JobFailed, accepted.job.id)
    assert failed.code == "workflow_rejected" and "missing.safetensors" in failed.text
    assert len(fake_comfy.received_prompts) == 1


async def test_a_job_interrupted_by_someone_else_fails_with_a_reason(job_service, job_request, core_events, fake_comfy):
    fake_comfy.exec_ms = 3000
    accepted = await job_service.submit(job_request())
    await core_events.wait_for(lambda: core_events.of(JobStarted, accepted.job.id))
    fake_comfy._interrupt.set()           # an admin pressed "cancel" in ComfyUI's own page
    await core_events.wait_final([accepted.job.id])
    [failed] = core_events.of(JobFailed, accepted.job.id)
    assert failed.code == "interrupted"


# ---- ComfyUI down, then up: held, not failed ----------------------------------------------------

def comfy_state(url: str, state: SupervisorState) -> ComfyStateChanged:
    return ComfyStateChanged(state=state, url=url, message=f"ComfyUI is {state}", started_by_us=True, restarts=0)


async def test_supervisor_down_holds_jobs_until_up(job_service, job_request, core_events, core_bus, fake_comfy):
    core_bus.publish(comfy_state(fake_comfy.url, SupervisorState.RESTARTING))
    accepted = await job_service.submit(job_request())
    await asyncio.sleep(0.1)
    assert fake_comfy.received_prompts == [] and job_service.position(accepted.job.id) == 1
    assert not finals(core_events)
    core_bus.publish(comfy_state(fake_comfy.url, SupervisorState.UP))
    await core_events.wait_final([accepted.job.id])
    assert core_events.of(JobFinished, accepted.job.id)


async def test_comfy_crash_mid_run_resubmits_after_restart(make_job_service, job_request, core_events, fake_comfy):
    fake_comfy.exec_ms = 2000
    service = await make_job_service()
    running = await service.submit(job_request(user_id=1, prompt="was running"))
    pending = await service.submit(job_request(user_id=2, prompt="was pending"))
    await core_events.wait_for(lambda: core_events.of(JobStarted, running.job.id))
    await eventually(lambda: fake_comfy.queue_remaining == 2)
    await fake_comfy.crash()
    later = await service.submit(job_request(user_id=3, prompt="came while down"))
    await asyncio.sleep(0.1)
    assert not finals(core_events)                          # held, not failed
    fake_comfy.exec_ms = 20
    await fake_comfy.restart()
    await core_events.wait_final([running.job.id, pending.job.id, later.job.id])
    assert len(core_events.of(JobFinished)) == 3, core_events.of(JobFailed)
    attempts = {j: (await service.get(j)).attempts for j in (running.job.id, pending.job.id, later.job.id)}
    assert attempts[running.job.id] == 2 and attempts[pending.job.id] == 2 and attempts[later.job.id] == 1
    assert set(executed_prompts(fake_comfy).values()) == {1}


async def test_jobs_wait_while_comfy_is_unreachable(make_job_service, job_request, core_events, fake_comfy):
    await fake_comfy.crash()
    service = await make_job_service()
    accepted = await service.submit(job_request())
    await asyncio.sleep(0.1)
    assert not finals(core_events) and service.position(accepted.job.id) == 1
    await fake_comfy.restart()
    await core_events.wait_final([accepted.job.id])
    assert core_events.of(JobFinished, accepted.job.id)
    assert (await service.get(accepted.job.id)).attempts == 1


# ---- several backends --------------------------------------------------------------------------

@pytest.fixture
async def second_fake():
    fake = FakeComfyUI(exec_ms=20, extra_object_info=shipped_object_info())
    await fake.start()
    yield fake
    await fake.stop()


async def test_work_is_spread_over_backends(make_job_service, job_request, core_events, fake_comfy, second_fake):
    fake_comfy.exec_ms = second_fake.exec_ms = 100
    service = await make_job_service(urls=[fake_comfy.url, second_fake.url])
    await eventually(lambda: all(up for _, up in service.backend_status()))
    ids = [(await service.submit(job_request(user_id=u, prompt=f"p{u}"))).job.id for u in range(8)]
    await core_events.wait_final(ids)
    backends = {e.backend for e in core_events.of(JobFinished)}
    assert backends == {fake_comfy.url, second_fake.url}
    assert len(executed_prompts(fake_comfy)) + len(executed_prompts(second_fake)) == 8


async def test_a_dead_backend_gives_its_jobs_to_another(make_job_service, job_request, core_events,
                                                       fake_comfy, second_fake):
    fake_comfy.exec_ms = 3000
    service = await make_job_service(urls=[fake_comfy.url, second_fake.url])
    await eventually(lambda: all(up for _, up in service.backend_status()))
    second_fake.exec_ms = 300
    ids = [(await service.submit(job_request(user_id=u, prompt=f"p{u}"))).job.id for u in range(4)]
    await eventually(lambda: fake_comfy.queue_remaining == 2 and second_fake.queue_remaining == 2)
    second_fake.exec_ms = 20
    await fake_comfy.crash()                   # gone for good, with two of our jobs inside
    await core_events.wait_final(ids, timeout=30)
    finished = core_events.of(JobFinished)
    assert len(finished) == 4 and {e.backend for e in finished} == {second_fake.url}
    moved = [j for j in ids if (await service.get(j)).attempts == 2]
    assert len(moved) == 2


async def test_a_backend_that_comes_back_drops_the_jobs_that_moved_on_before_new_work(
        make_job_service, job_request, core_events, core_bus, fake_comfy, second_fake):
    service = await make_job_service(urls=[fake_comfy.url, second_fake.url], user_job_limit=10)
    await eventually(lambda: all(up for _, up in service.backend_status()))
    core_bus.publish(comfy_state(second_fake.url, SupervisorState.RESTARTING))
    fake_comfy.exec_ms = 5000
    ids = [(await service.submit(job_request(user_id=u, prompt=f"p{u}"))).job.id for u in range(1, 4)]
    await core_events.wait_for(lambda: core_events.of(JobStarted, ids[0]))
    await eventually(lambda: fake_comfy.queue_remaining == 2)     # p1 running, p2 pending there, p3 prepared

    # the first backend goes dark (still holding p1 and p2); its jobs fail over to the second
    core_bus.publish(comfy_state(fake_comfy.url, SupervisorState.WAITING))
    core_bus.publish(comfy_state(second_fake.url, SupervisorState.UP))
    await core_events.wait_final(ids)
    assert {e.backend for e in core_events.of(JobFinished)} == {second_fake.url}
    assert fake_comfy.queue_remaining == 2                        # the old copies are still there

    # it comes back while the second one is away; the first delete attempt fails
    fake_comfy.exec_ms = 20
    fake_comfy.fail_http("/queue", times=2, status=500)
    core_bus.publish(comfy_state(second_fake.url, SupervisorState.RESTARTING))
    core_bus.publish(comfy_state(fake_comfy.url, SupervisorState.UP))
    later = await service.submit(job_request(user_id=9, prompt="p9"))
    await core_events.wait_final([later.job.id], timeout=5)
    assert core_events.of(JobFinished, later.job.id)[0].backend == fake_comfy.url
    assert executed_prompts(second_fake) == {"p1": 1, "p2": 1, "p3": 1}
    assert executed_prompts(fake_comfy) == {"p9": 1}             # the old p1 interrupted, p2 deleted: never twice
    log = [(method, path) for method, path, _ in fake_comfy.request_log]
    last_delete = max(i for i, entry in enumerate(log) if entry == ("POST", "/queue"))
    new_post = len(log) - 1 - log[::-1].index(("POST", "/prompt"))
    assert last_delete < new_post                                 # cleaned up before it got new work


# ---- restarts of the service itself --------------------------------------------------------------

@pytest.fixture
async def shared_db(app_paths):
    db = await Database.open(None, app_paths.data_dir)
    yield db
    await db.close()


async def restart_mid_run(make_job_service, job_request, core_events, fake_comfy, db):
    fake_comfy.exec_ms = 150
    first = await make_job_service(db=db, user_job_limit=10)
    ids = [(await first.submit(job_request(user_id=u, prompt=f"job {u}"))).job.id for u in range(6)]
    await core_events.wait_for(lambda: core_events.of(JobStarted, ids[0]))
    await kill(first)
    before = await states(db)
    assert before[ids[0]] == JobState.RUNNING and JobState.QUEUED in before.values()
    ended_before = set(finals(core_events))
    fake_comfy.exec_ms = 20
    second = await make_job_service(db=db, user_job_limit=10)
    await core_events.wait_final(ids, timeout=30)
    ended = finals(core_events)
    assert sorted(ended) == sorted(ids) and len(set(ended)) == len(ended)          # each exactly once
    assert not ended_before & set(finals(core_events)[len(ended_before):])
    assert set((await states(db)).values()) == {JobState.DONE}
    runs = executed_prompts(fake_comfy)
    assert runs == {f"job {u}": 1 for u in range(6)}                              # none ran twice
    assert sorted(received_texts(fake_comfy)) == sorted(f"job {u}" for u in range(6))
    return second


async def test_restart_mid_run_loses_nothing_and_runs_nothing_twice(make_job_service, job_request, core_events,
                                                                  fake_comfy, shared_db):
    await restart_mid_run(make_job_service, job_request, core_events, fake_comfy, shared_db)


async def test_job_finished_while_the_service_was_down(make_job_service, job_request, core_events, fake_comfy,
                                                      shared_db):
    fake_comfy.exec_ms = 100
    first = await make_job_service(db=shared_db)
    accepted = await first.submit(job_request())
    await core_events.wait_for(lambda: core_events.of(JobStarted, accepted.job.id))
    await kill(first)
    await eventually(lambda: len(fake_comfy.history) == 1)
    second = await make_job_service(db=shared_db)
    await core_events.wait_final([accepted.job.id])
    [event] = core_events.of(JobFinished, accepted.job.id)
    assert event.images[0].is_file()
    assert len(fake_comfy.received_prompts) == 1
    assert (await second.get(accepted.job.id)).attempts == 1


async def stored_as_sent(make_job_service, request, db: Database, **row_fields) -> int:
    """A job a stopped service left in the database as if it had been handed to ComfyUI
    (`row_fields`: state, backend, attempts...; a fresh prompt_id ComfyUI never saw). Its id."""
    first = await make_job_service(db=db)
    await first.pause()
    accepted = await first.submit(request)
    await first.stop()
    async with db.sessions() as session, session.begin():
        row = await session.get(JobRow, accepted.job.id)
        row.prompt_id = str(uuid.uuid4())
        for name, value in row_fields.items():
            setattr(row, name, value)
    return accepted.job.id


async def test_crash_between_store_and_post_resubmits(make_job_service, job_request, core_events, fake_comfy,
                                                     shared_db):
    # the app stored the prompt_id and died before its POST reached ComfyUI: that burns no
    # attempt and blames nobody (ComfyUI never had it)
    job_id = await stored_as_sent(make_job_service, job_request(), shared_db, state="submitted",
                                  backend=fake_comfy.url, attempts=1)
    second = await make_job_service(db=shared_db)
    await second.resume()
    await core_events.wait_final([job_id])
    assert core_events.of(JobFinished, job_id)
    job = await second.get(job_id)
    assert job.attempts == 1 and len(fake_comfy.received_prompts) == 1


async def test_crashes_between_store_and_post_never_exhaust_attempts(make_job_service, job_request, core_events,
                                                                    fake_comfy, shared_db):
    # as often as max_attempts: before, the job failed "ComfyUI lost or failed this job 3 times"
    job_id = await stored_as_sent(make_job_service, job_request(), shared_db, state="submitted",
                                  backend=fake_comfy.url, attempts=3)
    second = await make_job_service(db=shared_db, max_attempts=3)
    await second.resume()
    await core_events.wait_final([job_id])
    assert core_events.of(JobFinished, job_id), core_events.of(JobFailed, job_id)


async def test_a_job_left_on_a_removed_backend_is_queued_again(make_job_service, job_request, core_events,
                                                              fake_comfy, shared_db):
    job_id = await stored_as_sent(make_job_service, job_request(), shared_db, state="running",
                                  backend="http://127.0.0.1:9")
    second = await make_job_service(db=shared_db)
    assert second.position(job_id) == 1
    await second.resume()
    await core_events.wait_final([job_id])
    assert core_events.of(JobFinished, job_id)


# ---- the same on PostgreSQL and MariaDB -----------------------------------------------------------

@pytest.fixture(params=[pytest.param("postgres", marks=pytest.mark.postgres),
                        pytest.param("mariadb", marks=pytest.mark.mariadb)])
async def server_db(request, app_paths):
    url = request.getfixturevalue("postgres_url" if request.param == "postgres" else "mariadb_url")
    db = await Database.open(url, app_paths.data_dir)
    yield db
    await db.close()


async def test_submit_to_finish_on_a_server_database(make_job_service, job_request, core_events, server_db):
    service = await make_job_service(db=server_db)
    big_seed = 2**64 - 1
    accepted = await service.submit(job_request(seed=big_seed, prompt="emoji 🦊 survive"))
    await core_events.wait_final([accepted.job.id])
    [event] = core_events.of(JobFinished, accepted.job.id)
    job = await service.get(accepted.job.id)
    assert job.state == JobState.DONE and job.seed == big_seed and job.request.prompt == "emoji 🦊 survive"
    assert job.outputs == list(event.images) and job.created_at.tzinfo is not None
    assert (await service.recent())[0].id == job.id


async def test_restart_recovery_on_a_server_database(make_job_service, job_request, core_events, fake_comfy,
                                                    server_db):
    await restart_mid_run(make_job_service, job_request, core_events, fake_comfy, server_db)


def test_refusal_is_a_core_error():
    from core.errors import CoreError, JobRefused
    from core.jobs import RefusalCode
    refusal = JobRefused(RefusalCode.QUEUE_FULL, "The queue is full.", cap=3)
    assert isinstance(refusal, CoreError) and refusal.params == {"cap": 3} and str(refusal) == "The queue is full."


__all__ = ["replace"]
