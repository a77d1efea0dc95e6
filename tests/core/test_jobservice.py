"""JobService against the fake ComfyUI over real HTTP + ws, on SQLite: submit, refusals, limits,
priorities, pause, cancel in each state, positions and ETAs, concurrency, edits."""
from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select

from comfy.workflows import WorkflowSet
from core.errors import JobRefused
from core.jobs import (JobCancelled, JobFailed, JobFinished, JobPositionChanged, JobProgress, JobQueued, JobStarted,
                       JobState, Priority, QueuePausedChanged, RefusalCode)
from core.store import ImageRow, JobRow
from tests.core.conftest import eventually, executed_prompts, image_bytes, received_texts
from tests.fixtures_core import EDIT, IMAGINE


async def count_rows(service, model) -> int:
    async with service._db.sessions() as session:
        return await session.scalar(select(func.count()).select_from(model))


# ---- the happy path ------------------------------------------------------------------------------

async def test_submit_runs_to_the_end(job_service, job_request, core_events, fake_comfy, app_paths):
    accepted = await job_service.submit(job_request())
    assert accepted.position == 1 and accepted.job.state == JobState.QUEUED and not accepted.paused
    assert accepted.eta_s is not None and accepted.eta_s > 0
    await core_events.wait_final([accepted.job.id])
    [event] = core_events.of(JobFinished, accepted.job.id)
    assert event.backend == fake_comfy.url and event.seed == accepted.job.seed
    assert len(event.images) == 1 and event.images[0].is_file()
    assert event.images[0].is_relative_to(app_paths.images_dir)
    assert b"tEXt" not in event.images[0].read_bytes() and b"CLIPTextEncode" not in event.images[0].read_bytes()
    assert event.generation_s >= 0 and event.queue_wait_s >= 0
    kinds = [type(e) for e in core_events.events if getattr(e, "job_id", None) == accepted.job.id]
    assert kinds[0] is JobQueued and kinds[-1] is JobFinished
    assert kinds.index(JobStarted) < kinds.index(JobFinished)
    progress = core_events.of(JobProgress, accepted.job.id)
    assert progress and any(p.preview for p in progress) and progress[-1].max > 0
    job = await job_service.get(accepted.job.id)
    assert job.state == JobState.DONE and job.outputs == list(event.images) and job.attempts == 1
    assert job.backend == fake_comfy.url and job.prompt_id
    async with job_service._db.sessions() as session:
        [image] = (await session.scalars(select(ImageRow))).all()
    assert not image.path.startswith("/") and (app_paths.data_dir / image.path) == event.images[0]
    assert (await job_service.recent())[0].id == job.id
    assert (await job_service.last_result(1)).id == job.id
    assert await job_service.last_result(2) is None
    assert job_service.queued() == [] and job_service.position(job.id) is None and job_service.active_count(1) == 0


async def test_the_seed_asked_for_is_the_seed_used(job_service, job_request, core_events, fake_comfy):
    accepted = await job_service.submit(job_request(seed=1234))
    assert accepted.job.seed == 1234
    await core_events.wait_final([accepted.job.id])
    graph = fake_comfy.received_prompts[-1]["prompt"]
    assert graph["8"]["inputs"]["seed"] == 1234
    assert core_events.of(JobFinished, accepted.job.id)[0].seed == 1234


async def test_results_are_exported_too(make_job_service, job_request, core_events, tmp_path):
    export = tmp_path / "export"
    service = await make_job_service(export_path=str(export))
    accepted = await service.submit(job_request())
    await core_events.wait_final([accepted.job.id])
    [event] = core_events.of(JobFinished, accepted.job.id)
    await eventually(lambda: (export / event.images[0].name).is_file())


async def test_edit_uploads_the_checked_image(job_service, job_request, core_events, fake_comfy):
    accepted = await job_service.submit(job_request(workflow=EDIT, prompt="make it night",
                                                    input_image=image_bytes("WEBP"), width=None, height=None))
    await core_events.wait_final([accepted.job.id])
    assert core_events.of(JobFinished, accepted.job.id), core_events.of(JobFailed)
    graph = fake_comfy.received_prompts[-1]["prompt"]
    uploaded = fake_comfy.dir_for("input") / graph["4"]["inputs"]["image"]
    assert uploaded.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"     # converted to PNG before upload


def test_workflows_lists_the_enabled_ones(job_service):
    infos = {w.name: w for w in job_service.workflows()}
    assert infos[IMAGINE].kind == "imagine" and infos[EDIT].kind == "edit"
    assert infos[IMAGINE].display_name


async def test_workflow_info_carries_defaults_and_limits(make_job_service, job_request):
    service = await make_job_service(max_batch_size=2, max_prompt_length=300)
    infos = {w.name: w for w in service.workflows()}
    imagine, edit = infos[IMAGINE], infos[EDIT]
    assert imagine.defaults["width"] == 1024 and imagine.defaults["height"] == 1024
    assert (imagine.limits.width.min, imagine.limits.width.max, imagine.limits.width.multiple_of) == (256, 2048, 16)
    assert imagine.limits.height.multiple_of == 16
    assert imagine.limits.batch_max == 2                  # the manifest allows 4, the settings 2
    assert imagine.limits.prompt_max_length == 300
    assert edit.limits.width is None and edit.limits.height is None
    assert edit.limits.batch_max == 2     # no batch size: several images are copies of its seeded part
    assert "width" not in edit.defaults and edit.defaults["steps"] == 20
    # every size inside the limits is accepted
    width = imagine.limits.width
    await service.pause()
    accepted = await service.submit(job_request(width=width.max, height=imagine.limits.height.min,
                                                batch_size=imagine.limits.batch_max))
    assert accepted.position == 1


async def test_feedback_message_id_is_on_the_job_and_survives_a_restart(make_job_service, job_request,
                                                                       core_events):
    first = await make_job_service()
    await first.pause()
    accepted = await first.submit(job_request())
    assert accepted.job.feedback_message_id is None
    await first.set_feedback_message(accepted.job.id, 987654321012345678)
    assert (await first.get(accepted.job.id)).feedback_message_id == 987654321012345678
    await first.stop()
    second = await make_job_service()
    [waiting] = second.queued()
    assert waiting.feedback_message_id == 987654321012345678
    assert getattr(await second.get(accepted.job.id), "feedback_message_id") == 987654321012345678
    await second.resume()
    await core_events.wait_final([accepted.job.id])
    assert core_events.of(JobFinished, accepted.job.id)[0].job.feedback_message_id == 987654321012345678
    assert (await second.recent())[0].feedback_message_id == 987654321012345678


async def test_input_image_of_an_edit_job(job_service, job_request, core_events):
    edit = await job_service.submit(job_request(workflow=EDIT, prompt="make it night",
                                                input_image=image_bytes("JPEG"), width=None, height=None))
    imagine = await job_service.submit(job_request(user_id=2))
    stored = await job_service.input_image(edit.job.id)
    assert stored[:8] == b"\x89PNG\r\n\x1a\n"                 # the checked PNG, not the JPEG sent
    await core_events.wait_final([edit.job.id, imagine.job.id])
    assert await job_service.input_image(edit.job.id) == stored          # still there for a Reroll
    assert await job_service.input_image(imagine.job.id) is None
    assert await job_service.input_image(99999) is None


async def test_old_input_images_are_deleted_at_start(make_job_service, job_request, app_paths):
    from datetime import timedelta
    first = await make_job_service(user_job_limit=10)
    await first.pause()
    edits = [(await first.submit(job_request(workflow=EDIT, prompt=f"edit {n}", input_image=image_bytes(),
                                             width=None, height=None))).job.id for n in range(4)]
    for job_id in edits[:3]:
        await first.cancel(job_id, is_admin=True)                  # finished; the last one still waits
    await first.stop()
    long_ago = datetime.now(timezone.utc) - timedelta(days=10)
    async with first._db.sessions() as session, session.begin():
        for job_id in (edits[0], edits[2], edits[3]):              # edits[1] stays recent
            row = await session.get(JobRow, job_id)
            row.created_at = long_ago
            row.finished_at = long_ago if row.finished_at else None
    orphan = app_paths.inputs_dir / "orphan.png"                    # a crash between file and row
    orphan.write_bytes(image_bytes())

    second = await make_job_service(service_options=dict(input_keep_jobs=2))
    assert await second.input_image(edits[0]) is None              # old, finished, not among the newest 2
    assert await second.input_image(edits[1]) is not None          # recent
    assert await second.input_image(edits[2]) is not None          # among the newest 2
    assert await second.input_image(edits[3]) is not None          # still waiting
    assert not orphan.exists() and len(list(app_paths.inputs_dir.iterdir())) == 3


# ---- refusals: clear reason, nothing stored --------------------------------------------------

@pytest.mark.parametrize("overrides, code", [
    (dict(workflow="no_such_workflow"), RefusalCode.UNKNOWN_WORKFLOW),
    (dict(prompt=""), RefusalCode.EMPTY_PROMPT),
    (dict(prompt="   \n"), RefusalCode.EMPTY_PROMPT),
    (dict(prompt="x" * 4001), RefusalCode.PROMPT_TOO_LONG),
    (dict(workflow=EDIT, width=None, height=None), RefusalCode.IMAGE_REQUIRED),
    (dict(input_image=image_bytes()), RefusalCode.WRONG_KIND),
    (dict(workflow=EDIT, width=None, height=None, input_image=b"\x89PNG\r\n\x1a\nnot really"), RefusalCode.BAD_IMAGE),
    (dict(workflow=EDIT, width=None, height=None, input_image=b"just text"), RefusalCode.BAD_IMAGE),
    (dict(workflow=EDIT, width=None, height=None, input_image=image_bytes()[:60]), RefusalCode.BAD_IMAGE),
    (dict(workflow=EDIT, width=None, height=None, input_image=image_bytes(size=(9000, 9000))), RefusalCode.IMAGE_TOO_LARGE),
    (dict(width=100), RefusalCode.BAD_PARAMETER),
    (dict(width=1000), RefusalCode.BAD_PARAMETER),
    (dict(batch_size=9), RefusalCode.BAD_PARAMETER),
    (dict(seed=-5), RefusalCode.BAD_PARAMETER),
])
async def test_bad_requests_are_refused_and_nothing_is_stored(job_service, job_request, app_paths, fake_comfy,
                                                              overrides, code):
    with pytest.raises(JobRefused) as caught:
        await job_service.submit(job_request(**overrides))
    refusal = caught.value
    assert refusal.code == code and refusal.message and refusal.message[0].isupper()
    assert await count_rows(job_service, JobRow) == 0
    assert not app_paths.inputs_dir.exists() or not any(app_paths.inputs_dir.iterdir())
    assert job_service.queued() == [] and job_service.active_count(1) == 0
    assert fake_comfy.received_prompts == []


async def test_refusal_params_let_callers_translate(job_service, job_request):
    with pytest.raises(JobRefused) as caught:
        await job_service.submit(job_request(prompt="y" * 5000))
    assert caught.value.params == {"length": 5000, "limit": 4000}


async def test_disabled_workflow_is_refused(job_service, job_request):
    workflows = job_service._workflow_set
    template = workflows.get(IMAGINE)
    disabled = template.with_manifest(replace(template.manifest, enabled=False))
    job_service.set_workflows(WorkflowSet({**workflows.templates, IMAGINE: disabled}, []))
    with pytest.raises(JobRefused) as caught:
        await job_service.submit(job_request())
    assert caught.value.code == RefusalCode.WORKFLOW_DISABLED
    assert IMAGINE not in {w.name for w in job_service.workflows()}


async def test_prompt_limit_comes_from_settings(make_job_service, job_request):
    service = await make_job_service(max_prompt_length=10)
    with pytest.raises(JobRefused) as caught:
        await service.submit(job_request(prompt="eleven char"))
    assert caught.value.code == RefusalCode.PROMPT_TOO_LONG


# ---- limits ----------------------------------------------------------------------------------

async def test_user_limit_and_admin_exemption(job_service, job_request, core_events):
    await job_service.pause()
    first = await job_service.submit(job_request(prompt="one"))
    await job_service.submit(job_request(prompt="two"))
    with pytest.raises(JobRefused) as caught:
        await job_service.submit(job_request(prompt="three"))
    assert caught.value.code == RefusalCode.USER_LIMIT and caught.value.params == {"active": 2, "limit": 2}
    assert job_service.active_count(1) == 2
    await job_service.submit(job_request(user_id=2, prompt="someone else"))
    for n in range(3):
        await job_service.submit(job_request(user_id=3, is_admin=True, prompt=f"admin {n}"))
    await job_service.cancel(first.job.id, by_user_id=1)
    await job_service.submit(job_request(prompt="three again"))       # a place freed up


async def test_queue_cap(make_job_service, job_request):
    service = await make_job_service(queue_cap=2)
    await service.pause()
    await service.submit(job_request(user_id=1))
    await service.submit(job_request(user_id=2))
    with pytest.raises(JobRefused) as caught:
        await service.submit(job_request(user_id=3))
    assert caught.value.code == RefusalCode.QUEUE_FULL and caught.value.params == {"cap": 2}


async def test_many_submitters_at_once(make_job_service, job_request, core_events, fake_comfy):
    fake_comfy.exec_ms = 1
    service = await make_job_service(queue_cap=1000)
    requests = [job_request(user_id=user, prompt=f"user {user} job {n}") for user in range(40) for n in range(3)]
    results = await asyncio.gather(*(service.submit(r) for r in requests), return_exceptions=True)
    accepted = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, JobRefused)]
    assert len(accepted) == 80 and len(refused) == 40 and len(accepted) + len(refused) == len(results)
    assert all(r.code == RefusalCode.USER_LIMIT for r in refused)
    per_user = {}
    for a in accepted:
        per_user[a.job.user_id] = per_user.get(a.job.user_id, 0) + 1
    assert set(per_user.values()) == {2}
    assert len({a.job.id for a in accepted}) == 80
    await core_events.wait_final([a.job.id for a in accepted], timeout=60)
    assert len(core_events.of(JobFinished)) == 80 and not core_events.of(JobFailed)
    runs = executed_prompts(fake_comfy)
    assert len(runs) == 80 and set(runs.values()) == {1}


# ---- priorities, order, moves ---------------------------------------------------------------

async def test_priority_order_admins_first_fifo_within(make_job_service, job_request, core_events, fake_comfy):
    service = await make_job_service(role_priorities={111: 50, 222: 30}, user_job_limit=5)
    await service.pause()
    submitted = []
    for user, extra in [(1, {}), (2, {}), (3, dict(role_ids=(111,))), (4, dict(is_admin=True)),
                        (5, dict(role_ids=(111, 222))), (6, {}), (7, dict(is_admin=True))]:
        accepted = await service.submit(job_request(user_id=user, prompt=f"user {user}", **extra))
        submitted.append(accepted)
    priorities = {a.job.user_id: a.job.priority for a in submitted}
    assert priorities == {1: 100, 2: 100, 3: 50, 4: Priority.ADMIN, 5: 30, 6: 100, 7: Priority.ADMIN}
    expected = ["user 4", "user 7", "user 5", "user 3", "user 1", "user 2", "user 6"]
    assert [j.request.prompt for j in service.queued()] == expected
    assert [service.position(j.id) for j in service.queued()] == list(range(1, 8))
    await service.resume()
    await core_events.wait_final([a.job.id for a in submitted])
    assert received_texts(fake_comfy) == expected


async def test_move_and_set_priority(job_service, job_request, core_events):
    await job_service.pause()
    jobs = [(await job_service.submit(job_request(user_id=u, prompt=f"p{u}"))).job for u in range(1, 5)]
    ids = [j.id for j in jobs]
    await job_service.move(ids[2], -1)
    assert [j.id for j in job_service.queued()] == [ids[0], ids[2], ids[1], ids[3]]
    await job_service.move(ids[0], +10)                        # to the end, no further
    assert [j.id for j in job_service.queued()] == [ids[2], ids[1], ids[3], ids[0]]
    await job_service.set_priority(ids[3], Priority.ADMIN)
    assert job_service.position(ids[3]) == 1
    await job_service.move(ids[3], +1)                          # never past another priority
    assert job_service.position(ids[3]) == 1
    with pytest.raises(JobRefused) as caught:
        await job_service.move(99999, -1)
    assert caught.value.code == RefusalCode.NOT_FOUND


async def test_moves_and_pause_survive_a_restart(make_job_service, job_request, app_paths):
    first = await make_job_service()
    await first.pause()
    ids = [(await first.submit(job_request(user_id=u, prompt=f"p{u}"))).job.id for u in range(1, 4)]
    await first.move(ids[2], -2)
    await first.stop()
    second = await make_job_service()
    assert second.paused
    assert [j.id for j in second.queued()] == [ids[2], ids[0], ids[1]]


# ---- pause / resume --------------------------------------------------------------------------

async def test_paused_queue_accepts_and_holds(job_service, job_request, core_events, fake_comfy):
    await job_service.pause()
    assert job_service.paused and core_events.of(QueuePausedChanged)[-1].paused
    accepted = await job_service.submit(job_request())
    assert accepted.paused and accepted.position == 1
    await asyncio.sleep(0.05)
    assert fake_comfy.received_prompts == [] and job_service.position(accepted.job.id) == 1
    await job_service.resume()
    assert core_events.of(QueuePausedChanged)[-1].paused is False
    await core_events.wait_final([accepted.job.id])
    assert core_events.of(JobFinished, accepted.job.id)


async def test_pause_takes_back_what_waits_in_comfy_and_the_running_job_finishes(job_service, job_request,
                                                                               core_events, fake_comfy):
    fake_comfy.exec_ms = 1500
    jobs = [(await job_service.submit(job_request(user_id=u, prompt=f"p{u}"))).job for u in range(1, 5)]
    ids = [j.id for j in jobs]
    await core_events.wait_for(lambda: core_events.of(JobStarted, ids[0]))
    await eventually(lambda: fake_comfy.queue_remaining == 2)
    # running, pending in ComfyUI, prepared (stored as submitted, not posted), waiting with us
    await eventually(lambda: [j.state for j in job_service.queued()] == [
        JobState.RUNNING, JobState.SUBMITTED, JobState.SUBMITTED, JobState.QUEUED])
    old_pending_id = (await job_service.get(ids[1])).prompt_id

    await job_service.pause()
    assert fake_comfy.queue_remaining == 1                           # only the running job is left in ComfyUI
    assert fake_comfy.running.prompt_id == (await job_service.get(ids[0])).prompt_id
    assert [j.id for j in job_service.queued()] == ids                # at their places
    assert [j.state for j in job_service.queued()] == [JobState.RUNNING] + [JobState.QUEUED] * 3
    assert [job_service.position(i) for i in ids] == [None, 1, 2, 3]
    for job_id in ids[1:]:
        stored = await job_service.get(job_id)
        assert stored.state == JobState.QUEUED and stored.prompt_id is None and stored.attempts == 0
    async with job_service._db.sessions() as session:
        rows = {r.id: r for r in (await session.scalars(select(JobRow))).all()}
    assert [(rows[i].state, rows[i].prompt_id) for i in ids[1:]] == [("queued", None)] * 3
    await core_events.wait_for(lambda: [e.position for e in core_events.of(JobPositionChanged, ids[1])][-1:] == [1])

    await core_events.wait_final([ids[0]])                           # the running one finishes
    assert core_events.of(JobFinished, ids[0])
    await asyncio.sleep(0.1)
    assert len(fake_comfy.received_prompts) == 2 and fake_comfy.queue_remaining == 0   # nothing new handed out

    fake_comfy.exec_ms = 20
    await job_service.resume()
    await core_events.wait_final(ids)
    assert len(core_events.of(JobFinished)) == 4 and not core_events.of(JobFailed)
    assert executed_prompts(fake_comfy) == {"p1": 1, "p2": 1, "p3": 1, "p4": 1}
    assert received_texts(fake_comfy) == ["p1", "p2", "p2", "p3", "p4"]
    again = await job_service.get(ids[1])
    assert again.prompt_id != old_pending_id and again.attempts == 1


async def test_pause_when_nothing_waits_in_comfy(job_service, job_request, core_events, fake_comfy):
    fake_comfy.exec_ms = 300
    running = await job_service.submit(job_request())
    await core_events.wait_for(lambda: core_events.of(JobStarted, running.job.id))
    await job_service.pause()
    await core_events.wait_final([running.job.id])
    assert core_events.of(JobFinished, running.job.id) and len(fake_comfy.received_prompts) == 1


# ---- cancel in each state --------------------------------------------------------------------

async def test_cancel_a_waiting_job(job_service, job_request, core_events, fake_comfy):
    await job_service.pause()
    accepted = await job_service.submit(job_request())
    job = await job_service.cancel(accepted.job.id, by_user_id=1)
    assert job.state == JobState.CANCELLED
    [event] = core_events.of(JobCancelled, accepted.job.id)
    assert event.by_user_id == 1
    assert (await job_service.get(accepted.job.id)).state == JobState.CANCELLED
    assert job_service.queued() == [] and fake_comfy.received_prompts == []


async def test_cancel_pending_inside_comfy_and_running(job_service, job_request, core_events, fake_comfy):
    fake_comfy.exec_ms = 5000
    running = await job_service.submit(job_request(user_id=1, prompt="long one"))
    pending = await job_service.submit(job_request(user_id=2, prompt="next one"))
    await core_events.wait_for(lambda: core_events.of(JobStarted, running.job.id))
    await eventually(lambda: fake_comfy.queue_remaining == 2)
    assert [j.state for j in job_service.queued()] == [JobState.RUNNING, JobState.SUBMITTED]

    cancelled = await job_service.cancel(pending.job.id, by_user_id=2)
    assert cancelled.state == JobState.CANCELLED
    assert fake_comfy.queue_remaining == 1
    assert fake_comfy.running.prompt_id == (await job_service.get(running.job.id)).prompt_id

    await job_service.cancel(running.job.id, is_admin=True)
    await eventually(lambda: fake_comfy.queue_remaining == 0)
    status = fake_comfy.history[(await job_service.get(running.job.id)).prompt_id]["status"]
    assert any(m[0] == "execution_interrupted" for m in status["messages"])
    assert {e.job_id for e in core_events.of(JobCancelled)} == {running.job.id, pending.job.id}
    assert not core_events.of(JobFinished) and not core_events.of(JobFailed)
    assert executed_prompts(fake_comfy) == {}


async def test_cancel_is_for_the_owner_or_an_admin(job_service, job_request, core_events):
    await job_service.pause()
    accepted = await job_service.submit(job_request(user_id=1))
    with pytest.raises(JobRefused) as caught:
        await job_service.cancel(accepted.job.id, by_user_id=2)
    assert caught.value.code == RefusalCode.NOT_ALLOWED
    await job_service.cancel(accepted.job.id, by_user_id=2, is_admin=True)
    with pytest.raises(JobRefused) as caught:
        await job_service.cancel(accepted.job.id, by_user_id=1)
    assert caught.value.code == RefusalCode.NOT_FOUND


# ---- positions and ETAs ------------------------------------------------------------------------

async def test_position_events_only_on_change(job_service, job_request, core_events):
    await job_service.pause()
    ids = [(await job_service.submit(job_request(user_id=u, prompt=f"p{u}"))).job.id for u in range(1, 6)]
    assert [e.position for e in core_events.of(JobQueued)] == [1, 2, 3, 4, 5]
    await asyncio.sleep(0.05)
    assert core_events.of(JobPositionChanged) == []           # queued at the end: nobody moved
    await job_service.cancel(ids[0], by_user_id=1)
    await core_events.wait_for(lambda: len(core_events.of(JobPositionChanged)) >= 4)
    await asyncio.sleep(0.05)
    changes = core_events.of(JobPositionChanged)
    assert [(e.job_id, e.position, e.queue_length) for e in changes] == [(ids[n], n, 4) for n in range(1, 5)]


async def test_position_zero_when_a_job_leaves_for_comfy(job_service, job_request, core_events, core_bus,
                                                         fake_comfy):
    stored_when_told = []

    def on_position(event: JobPositionChanged) -> None:
        if event.position == 0:        # "sent to ComfyUI" is only said once SUBMITTED is stored
            stored_when_told.append(job_service._scheduler.entries[event.job_id].job.state)
    core_bus.subscribe(JobPositionChanged, on_position)
    fake_comfy.exec_ms = 400
    ids = [(await job_service.submit(job_request(user_id=u, prompt=f"p{u}"))).job.id for u in range(1, 5)]
    await core_events.wait_for(lambda: all(core_events.of(JobPositionChanged, j) for j in ids[:3]))
    # the first three went to ComfyUI (running, pending, prepared): each told "0", none still "1"
    for job_id in ids[:3]:
        [sent] = [e for e in core_events.of(JobPositionChanged, job_id)]
        assert sent.position == 0 and sent.queue_length <= 1 and sent.eta_s is not None
    assert job_service.position(ids[3]) == 1 and not core_events.of(JobPositionChanged, ids[3])
    await core_events.wait_final(ids)
    for job_id in ids:
        kinds = [type(e) for e in core_events.events if getattr(e, "job_id", None) == job_id]
        zero = [i for i, e in enumerate(core_events.events) if isinstance(e, JobPositionChanged)
                and e.job_id == job_id and e.position == 0]
        started = [i for i, e in enumerate(core_events.events) if isinstance(e, JobStarted) and e.job_id == job_id]
        assert len(zero) == 1 and zero[0] < started[0], kinds
    assert [e.position for e in core_events.of(JobPositionChanged, ids[3])] == [0]
    assert stored_when_told == [JobState.SUBMITTED] * 4


async def test_position_events_are_coalesced(make_job_service, job_request, core_events):
    service = await make_job_service(service_options=dict(position_interval_s=0.3))
    await service.pause()
    ids = [(await service.submit(job_request(user_id=u, prompt=f"p{u}"))).job.id for u in range(1, 7)]
    await asyncio.sleep(0.35)               # let the first window pass
    core_events.events.clear()
    for job_id in ids[:3]:                  # three changes for the last jobs within one window
        await service.cancel(job_id, is_admin=True)
    await core_events.wait_for(lambda: {e.job_id for e in core_events.of(JobPositionChanged)} == set(ids[3:]))
    await asyncio.sleep(0.4)
    changes = core_events.of(JobPositionChanged)
    assert sorted((e.job_id, e.position) for e in changes) == [(ids[3], 1), (ids[4], 2), (ids[5], 3)]


async def test_eta_from_measured_times(make_job_service, job_request, core_events, fake_comfy):
    fake_comfy.exec_ms = 60
    service = await make_job_service(user_job_limit=10)
    warm = await service.submit(job_request(prompt="warm up"))
    assert warm.eta_s == pytest.approx(20.0, rel=0.01)        # nothing measured yet: the default guess
    await core_events.wait_final([warm.job.id])
    measured = core_events.of(JobFinished, warm.job.id)[0].generation_s
    await service.pause()
    accepted = [await service.submit(job_request(prompt=f"p{n}")) for n in range(3)]
    etas = [a.eta_s for a in accepted]
    assert etas == sorted(etas) and etas[0] < 1.0
    for n, eta in enumerate(etas):
        assert eta == pytest.approx(measured * (n + 1), rel=0.01)
    assert service.eta_s(accepted[2].job.id) == pytest.approx(etas[2], rel=0.01)
    await service.stop()
    # a new start rebuilds the averages from the jobs table
    again = await make_job_service(user_job_limit=10)
    assert again.eta_s(accepted[0].job.id) == pytest.approx(measured, rel=0.01)


async def test_eta_is_shared_over_healthy_backends(make_job_service, job_request, core_events, fake_comfy):
    from tests.fake_comfyui import FakeComfyUI
    from tests.fixtures_core import shipped_object_info
    async with FakeComfyUI(exec_ms=20, extra_object_info=shipped_object_info()) as second:
        service = await make_job_service(urls=[fake_comfy.url, second.url], user_job_limit=10)
        await eventually(lambda: all(up for _, up in service.backend_status()))
        await service.pause()
        accepted = [await service.submit(job_request(prompt=f"p{n}")) for n in range(4)]
        # default 20 s each, two backends: the 4th waits for 3 jobs shared by 2, then runs itself
        assert accepted[3].eta_s == pytest.approx(3 * 20 / 2 + 20, rel=0.01)
        await service.stop()
