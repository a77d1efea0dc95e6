"""JobService when things go wrong around it: hostile requests, the database going away (SQLite,
and PostgreSQL/MariaDB cut through a TCP proxy), downloads failing after ComfyUI finished a job,
and the outbox that remembers whether a user was told."""
from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from core.errors import JobRefused, StoreUnavailable
from core.jobs import (FailureCode, JobFailed, JobFinished, JobStarted, JobState, QueuePausedChanged, QueueSnapshot,
                       RefusalCode)
from core.status import StoreHealthChanged
from core.store import JobRow
from tests.core.conftest import eventually, executed_prompts
from tests.fixtures_core import IMAGINE
from tests.tcp_proxy import TcpProxy


async def count_jobs(db) -> int:
    async with db.sessions() as session:
        return await session.scalar(select(func.count()).select_from(JobRow))


async def stored_states(db) -> dict[int, str]:
    async with db.sessions() as session:
        return dict((await session.execute(select(JobRow.id, JobRow.state))).all())


# ---- hostile requests: a JobRefused each, nothing stored -----------------------------------------

HOSTILE = [
    (dict(prompt="a fox\x00"), RefusalCode.BAD_TEXT),
    (dict(prompt="a fox \ud800"), RefusalCode.BAD_TEXT),
    (dict(negative_prompt="blurry \udfff"), RefusalCode.BAD_TEXT),
    (dict(user_name="eve\x00"), RefusalCode.BAD_TEXT),
    (dict(user_name="eve \ud83d"), RefusalCode.BAD_TEXT),
    (dict(prompt="a fox \u202egnp.exe"), RefusalCode.BAD_TEXT),
    (dict(negative_prompt="\u2066hidden\u2069"), RefusalCode.BAD_TEXT),
    (dict(user_name="\u202eadmin"), RefusalCode.BAD_TEXT),
    (dict(prompt="x" * 4001), RefusalCode.PROMPT_TOO_LONG),
    (dict(negative_prompt="x" * 4001), RefusalCode.PROMPT_TOO_LONG),
    (dict(prompt="x" * 100_000), RefusalCode.PROMPT_TOO_LONG),
    (dict(user_id=2**63), RefusalCode.BAD_PARAMETER),
    (dict(user_id=-1), RefusalCode.BAD_PARAMETER),
    (dict(channel_id=2**64), RefusalCode.BAD_PARAMETER),
    (dict(role_ids=(2**70,)), RefusalCode.BAD_PARAMETER),
    (dict(width=10**30), RefusalCode.BAD_PARAMETER),
    (dict(seed=2**200), RefusalCode.BAD_PARAMETER),
    (dict(workflow="no_such_workflow"), RefusalCode.UNKNOWN_WORKFLOW),
    (dict(workflow="../../etc/passwd"), RefusalCode.UNKNOWN_WORKFLOW),
    (dict(prompt=None), RefusalCode.BAD_TEXT),
]


@pytest.mark.parametrize("fields,code", HOSTILE, ids=[f"{next(iter(f))}-{c}" for f, c in HOSTILE])
async def test_a_hostile_request_is_refused_and_nothing_is_stored(job_service, job_request, fields, code):
    with pytest.raises(JobRefused) as refused:
        await job_service.submit(job_request(**fields))
    assert refused.value.code == code and refused.value.message
    assert "\x00" not in refused.value.message and "\ud800" not in refused.value.message
    assert await count_jobs(job_service._db) == 0 and job_service.queued() == []


async def test_text_people_write_is_accepted(job_service, job_request):
    accepted = await job_service.submit(job_request(
        prompt="un zorro rojo 🦊 en la nieve,\n«estilo» acuarela\tárabe: ثعلب", user_name="Zoë 🦊",
        negative_prompt=""))
    assert accepted.job.request.prompt.startswith("un zorro")


# ---- the database goes away -----------------------------------------------------------------------

async def test_database_down_refuses_new_requests_and_says_so(make_job_service, job_request, core_events,
                                                            monkeypatch):
    service = await make_job_service(service_options=dict(store_retry_max_s=0.05))
    store = service._store

    async def unreachable(*args, **kwargs):
        raise StoreUnavailable("The database is unreachable: connection refused")
    monkeypatch.setattr(store, "_select_one", unreachable)
    real_transaction = store._transaction
    monkeypatch.setattr(store, "_transaction", lambda ops: store._guard(_refused()))
    with pytest.raises(JobRefused) as refused:
        await service.submit(job_request())
    assert refused.value.code == RefusalCode.DATABASE_UNAVAILABLE
    assert refused.value.message == "The bot's database is unavailable, try again in a minute."
    [down] = core_events.of(StoreHealthChanged)
    assert not down.ok and "refused" in down.reason
    assert service.snapshot().store_ok is False
    with pytest.raises(JobRefused) as again:            # known down: refused at once
        await service.submit(job_request(user_id=2))
    assert again.value.code == RefusalCode.DATABASE_UNAVAILABLE
    # it comes back: the probe notices, no restart needed
    monkeypatch.setattr(store, "_transaction", real_transaction)
    monkeypatch.undo()
    await core_events.wait_for(lambda: core_events.of(StoreHealthChanged)[-1].ok)
    accepted = await service.submit(job_request())
    await core_events.wait_final([accepted.job.id])
    assert core_events.of(JobFinished, accepted.job.id)


async def _refused():
    raise ConnectionRefusedError("connection refused")


async def test_a_failed_running_write_is_retried_not_a_failed_job(job_service, job_request, core_events,
                                                                 fake_comfy, monkeypatch):
    # before: a transient lock on the "running" write failed a job ComfyUI ran fine (raw SQL shown)
    store = job_service._store
    real_update = store.update
    failures = []

    async def flaky_update(job_id, **fields):
        if fields.get("state") == JobState.RUNNING and len(failures) < 2:
            failures.append(job_id)
            raise StoreUnavailable("The database is unreachable: database is locked")
        return await real_update(job_id, **fields)
    monkeypatch.setattr(store, "update", flaky_update)
    accepted = await job_service.submit(job_request())
    await core_events.wait_final([accepted.job.id])
    assert core_events.of(JobFinished, accepted.job.id), core_events.of(JobFailed)
    assert len(failures) == 2
    job = await job_service.get(accepted.job.id)
    assert job.state == JobState.DONE and job.outputs and job.error_text is None
    kinds = [type(e) for e in core_events.events if getattr(e, "job_id", None) == accepted.job.id]
    assert kinds.index(JobStarted) < kinds.index(JobFinished)


async def test_a_locked_sqlite_file_holds_writes_until_it_is_free(make_job_service, job_request, core_events,
                                                                fake_comfy, app_paths):
    import sqlite3
    fake_comfy.exec_ms = 200
    service = await make_job_service(user_job_limit=10, service_options=dict(store_retry_max_s=0.2))
    ids = [(await service.submit(job_request(user_id=u, prompt=f"job {u}"))).job.id for u in range(3)]
    await core_events.wait_for(lambda: core_events.of(JobStarted, ids[0]))
    locker = sqlite3.connect(app_paths.data_dir / "imagebot.db", isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")              # another program holds the file (a backup, a viewer)
    try:
        await eventually(lambda: len(fake_comfy.finished_at) >= 1)
        with pytest.raises(JobRefused) as refused:   # waits out SQLite's busy timeout, then says so
            await service.submit(job_request(user_id=9, prompt="while locked"))
        assert refused.value.code == RefusalCode.DATABASE_UNAVAILABLE
        assert not core_events.of(StoreHealthChanged)[-1].ok
        assert "locked" in core_events.of(StoreHealthChanged)[-1].reason
    finally:
        locker.execute("COMMIT")
        locker.close()
    await core_events.wait_final(ids, timeout=60)
    assert len(core_events.of(JobFinished)) == 3, core_events.of(JobFailed)
    assert core_events.of(StoreHealthChanged)[-1].ok
    assert set((await stored_states(service._db)).values()) == {"done"}


@pytest.fixture(params=[pytest.param("postgres", marks=pytest.mark.postgres),
                        pytest.param("mariadb", marks=pytest.mark.mariadb)])
async def proxied_database(request):
    """A fresh server database reached through a TcpProxy the test can cut."""
    url = make_url(request.getfixturevalue("postgres_url" if request.param == "postgres" else "mariadb_url"))
    proxy = await TcpProxy(url.host, url.port).start()
    yield url.set(port=proxy.port).render_as_string(hide_password=False), proxy
    await proxy.stop()


async def test_a_database_outage_strands_nothing_and_needs_no_restart(make_job_service, job_request, core_events,
                                                                     fake_comfy, proxied_database):
    url, proxy = proxied_database
    fake_comfy.exec_ms = 150
    service = await make_job_service(database_url=url, user_job_limit=10,
                                     service_options=dict(store_retry_max_s=0.1, store_timeout_s=3.0))
    ids = [(await service.submit(job_request(user_id=u, prompt=f"job {u}"))).job.id for u in range(6)]
    await core_events.wait_for(lambda: core_events.of(JobStarted, ids[0]))
    proxy.cut()
    with pytest.raises(JobRefused) as refused:
        await service.submit(job_request(user_id=99, prompt="during the outage"))
    assert refused.value.code == RefusalCode.DATABASE_UNAVAILABLE
    await core_events.wait_for(lambda: any(not e.ok for e in core_events.of(StoreHealthChanged)))
    await eventually(lambda: len(fake_comfy.finished_at) >= 2)       # ComfyUI goes on meanwhile
    assert not core_events.of(JobFinished) or len(core_events.of(JobFinished)) < 6
    proxy.restore()
    await core_events.wait_final(ids, timeout=60)
    assert len(core_events.of(JobFinished)) == 6, core_events.of(JobFailed)
    assert core_events.of(StoreHealthChanged)[-1].ok
    assert set((await stored_states(service._db)).values()) == {"done"}
    assert service._scheduler.entries == {} and all(service.active_count(u) == 0 for u in range(6))
    assert set(executed_prompts(fake_comfy).values()) == {1}
    later = await service.submit(job_request(user_id=99, prompt="after the outage"))
    await core_events.wait_final([later.job.id])
    assert core_events.of(JobFinished, later.job.id)


# ---- a finished job is never run again ------------------------------------------------------------

async def test_a_download_that_fails_a_few_times_still_delivers(job_service, job_request, core_events, fake_comfy):
    fake_comfy.fail_http("/view", times=3, status=503)
    accepted = await job_service.submit(job_request())
    await core_events.wait_final([accepted.job.id], timeout=30)
    assert core_events.of(JobFinished, accepted.job.id), core_events.of(JobFailed)
    assert len(fake_comfy.received_prompts) == 1 and (await job_service.get(accepted.job.id)).attempts == 1


async def test_a_download_that_keeps_failing_fails_the_job_without_running_it_again(job_service, job_request,
                                                                                    core_events, fake_comfy):
    fake_comfy.fail_http("/view", times=100, status=503)
    accepted = await job_service.submit(job_request())
    await core_events.wait_final([accepted.job.id], timeout=30)
    [failed] = core_events.of(JobFailed, accepted.job.id)
    assert failed.code == FailureCode.OUTPUT_UNAVAILABLE and failed.code == "output_unavailable"
    assert len(fake_comfy.received_prompts) == 1


# ---- the snapshot ------------------------------------------------------------------------------------

async def test_the_snapshot_shows_order_backends_and_one_queue_length(make_job_service, job_request,
                                                                     core_events, fake_comfy):
    fake_comfy.exec_ms = 1500
    service = await make_job_service(user_job_limit=10)
    ids = [(await service.submit(job_request(user_id=u, prompt=f"p{u}"))).job.id for u in range(1, 7)]
    await core_events.wait_for(lambda: core_events.of(JobStarted, ids[0]))
    await eventually(lambda: len(service.snapshot().pending) == 2)
    snapshot = service.snapshot()
    [backend] = snapshot.backends
    assert backend.url == fake_comfy.url and backend.healthy
    assert backend.running == ids[0] and backend.pending == tuple(ids[1:3])
    assert snapshot.waiting == tuple(ids[3:]) and snapshot.queue_length == 3 == service.queue_length()
    assert [service.position(i) for i in ids[3:]] == [1, 2, 3] == [snapshot.position(i) for i in ids[3:]]
    await core_events.wait_for(lambda: core_events.of(QueueSnapshot)
                               and core_events.of(QueueSnapshot)[-1] == service.snapshot())


async def test_snapshots_are_coalesced(make_job_service, job_request, core_events):
    service = await make_job_service(user_job_limit=50, service_options=dict(position_interval_s=0.3))
    await service.pause()
    await asyncio.sleep(0.35)
    core_events.events.clear()
    for u in range(20):
        await service.submit(job_request(user_id=u, prompt=f"p{u}"))
    await core_events.wait_for(lambda: core_events.of(QueueSnapshot)
                               and core_events.of(QueueSnapshot)[-1].queue_length == 20)
    assert len(core_events.of(QueueSnapshot)) <= 2


async def test_a_queue_paused_before_a_restart_is_paused_after_it(make_job_service, job_request, core_events,
                                                                 app_paths):
    from core.store import Database
    db = await Database.open(None, app_paths.data_dir)
    try:
        first = await make_job_service(db=db)
        await first.pause()
        accepted = await first.submit(job_request())
        await first.stop()
        core_events.events.clear()
        second = await make_job_service(db=db)
        assert second.paused and second.snapshot().paused and second.position(accepted.job.id) == 1
        assert second.snapshot().waiting == (accepted.job.id,)
        assert core_events.of(QueuePausedChanged)[-1].paused
        await core_events.wait_for(lambda: core_events.of(QueueSnapshot))
        assert core_events.of(QueueSnapshot)[-1].paused and core_events.of(QueueSnapshot)[-1].queue_length == 1
        await second.resume()                                   # and it can be resumed
        await core_events.wait_final([accepted.job.id])
        assert core_events.of(JobFinished, accepted.job.id)
    finally:
        await db.close()


# ---- an insert whose answer was lost ---------------------------------------------------------------

def lose_answers(monkeypatch, store, *, then_down: bool = False) -> None:
    """The next write commits but its answer never comes (the connection drops first); with
    `then_down`, every write after it finds the database unreachable."""
    write, lost = store._write, []

    async def answer_lost(op):
        if lost and then_down:
            raise StoreUnavailable("The database is unreachable: connection refused")
        if not lost:
            lost.append(await write(op))
            raise StoreUnavailable("The database is unreachable: connection reset by peer")
        return await write(op)
    monkeypatch.setattr(store, "_write", answer_lost)


async def test_a_refused_request_whose_insert_landed_is_taken_back(make_job_service, job_request, app_paths,
                                                                   fake_comfy, monkeypatch):
    from core.store import Database
    db = await Database.open(None, app_paths.data_dir)
    try:
        service = await make_job_service(db=db)
        lose_answers(monkeypatch, service._store)
        with pytest.raises(JobRefused) as refused:
            await service.submit(job_request())
        assert refused.value.code == RefusalCode.DATABASE_UNAVAILABLE      # what the user is told...
        await eventually(lambda: not (app_paths.data_dir / "unanswered-inserts.json").exists())
        assert await count_jobs(db) == 0                                   # ...is what happened
        assert not executed_prompts(fake_comfy)
    finally:
        await db.close()


async def test_one_the_last_run_could_not_take_back_is_taken_back_at_start(make_job_service, job_request, app_paths,
                                                                           fake_comfy, core_events, monkeypatch):
    from core.store import Database
    db = await Database.open(None, app_paths.data_dir)
    try:
        first = await make_job_service(db=db)
        await first.pause()               # (so nothing would start before the restart)
        lose_answers(monkeypatch, first._store, then_down=True)
        with pytest.raises(JobRefused):
            await first.submit(job_request())
        await first.stop()                # the database stayed unreachable until this run stopped
        assert await count_jobs(db) == 1 and (app_paths.data_dir / "unanswered-inserts.json").exists()
        monkeypatch.undo()
        second = await make_job_service(db=db)
        assert await count_jobs(db) == 0 and not (app_paths.data_dir / "unanswered-inserts.json").exists()
        await second.resume()
        accepted = await second.submit(job_request())
        await core_events.wait_final([accepted.job.id])
        assert len(executed_prompts(fake_comfy)) == 1                     # only the request that was accepted
    finally:
        await db.close()


# ---- the outbox ------------------------------------------------------------------------------------

async def test_finished_jobs_wait_in_the_outbox_until_delivered(job_service, job_request, core_events, fake_comfy):
    fake_comfy.fail_next_prompt(exception_type="RuntimeError", message="boom")
    failed = await job_service.submit(job_request(user_id=1, prompt="fails"))
    await core_events.wait_final([failed.job.id])
    done = await job_service.submit(job_request(user_id=2, prompt="works"))
    await core_events.wait_final([done.job.id])
    waiting = await job_service.submit(job_request(user_id=3, source="tray"))
    assert [j.id for j in await job_service.undelivered()] == [failed.job.id, done.job.id] + \
        ([waiting.job.id] if (await job_service.get(waiting.job.id)).state.is_final else [])
    assert waiting.job.id not in [j.id for j in await job_service.undelivered("discord")]
    await job_service.mark_delivered(done.job.id)
    await job_service.mark_delivered(waiting.job.id if not (await job_service.get(waiting.job.id)).state.is_final
                                     else done.job.id)
    remaining = [j.id for j in await job_service.undelivered("discord")]
    assert remaining == [failed.job.id]
    delivered = await job_service.get(done.job.id)
    assert delivered.delivered_at is not None
    first_time = delivered.delivered_at
    await job_service.mark_delivered(done.job.id)                 # once: a second call changes nothing
    assert (await job_service.get(done.job.id)).delivered_at == first_time


async def test_an_unfinished_job_cannot_be_marked_delivered(make_job_service, job_request):
    service = await make_job_service()
    await service.pause()
    accepted = await service.submit(job_request())
    await service.mark_delivered(accepted.job.id)
    assert (await service.get(accepted.job.id)).delivered_at is None
    await service.cancel(accepted.job.id, is_admin=True)
    assert [j.id for j in await service.undelivered()] == [accepted.job.id]


async def test_a_full_disk_holds_the_result_until_it_can_be_written(job_service, job_request, core_events,
                                                                  fake_comfy, monkeypatch):
    import errno

    import core.scheduler
    real_write = core.scheduler.write_file
    refusals = []

    def full_disk(path, data):
        if len(refusals) < 2:
            refusals.append(path)
            raise OSError(errno.ENOSPC, "No space left on device")
        real_write(path, data)
    monkeypatch.setattr(core.scheduler, "write_file", full_disk)
    accepted = await job_service.submit(job_request())
    await core_events.wait_final([accepted.job.id])
    assert core_events.of(JobFinished, accepted.job.id), core_events.of(JobFailed)
    assert len(refusals) == 2 and len(fake_comfy.received_prompts) == 1
