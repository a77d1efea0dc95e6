"""core/gpu_mode.py: the host takes the GPU (by hand, on a schedule, when a game starts) and shares it
again; against the real JobService and the fake ComfyUI, which frees its VRAM through /free."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from core.gpu_mode import HostGpu, HostGpuChanged, Reason, Schedule, program_names
from core.jobs import JobFinished, JobStarted, JobState

MONDAY = datetime(2026, 11, 30, tzinfo=timezone.utc)      # a Monday


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return MONDAY + timedelta(days=day, hours=hour, minutes=minute)


# ---- the schedule ---------------------------------------------------------------------------

@pytest.mark.parametrize("text, moment, until", [
    ("mon-fri 18:00-23:00", at(0, 19), at(0, 23)),
    ("mon-fri 18:00-23:00", at(0, 17, 59), None),
    ("mon-fri 18:00-23:00", at(5, 19), None),                     # Saturday
    ("sat,sun 10:00-14:00", at(6, 13, 30), at(6, 14)),
    ("fri 22:00-02:00", at(5, 1), at(5, 2)),                      # past midnight, into Saturday
    ("sun 23:00-01:00", at(7, 0, 30), at(7, 1)),                  # Sunday night into Monday
    ("daily 18:00-24:00; daily 00:00-02:00", at(2, 20), at(3, 2)),  # windows that continue each other
    ("Mon 08:00-09:30", at(0, 9, 29), at(0, 9, 30)),
    ("", at(0, 12), None),
])
def test_schedule_windows(text, moment, until):
    assert Schedule.parse(text).active_until(moment) == until


@pytest.mark.parametrize("text, message", [
    ("weekdays 18:00-23:00", "unknown day 'wee'"),
    ("mon-fry 18:00-23:00", "unknown day 'fry'"),
    ("mon 25:00-26:00", "not a time of day"),
    ("mon 18:00", "not a schedule entry"),
    ("18:00-23:00", "not a schedule entry"),
])
def test_a_wrong_schedule_says_how_to_write_it(text, message):
    with pytest.raises(ValueError, match=message) as caught:
        Schedule.parse(text)
    assert "mon-fri 18:00-23:00" in str(caught.value)


def test_program_names_ignore_case_and_exe():
    assert program_names("EldenRing.exe, cs2 ;  ") == ("eldenring", "cs2")


# ---- the controller against the real queue ---------------------------------------------------

class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def host_gpu(job_service, core_bus, core_events):
    def make(**options) -> HostGpu:
        options.setdefault("clock", Clock(at(0, 12)))
        return HostGpu(queue=job_service, backends=lambda: job_service.test_clients, publish=core_bus.publish,
                       **options)
    return make


async def test_i_need_my_gpu_lets_the_running_job_finish_holds_the_rest_and_frees_vram(
        job_service, host_gpu, job_request, core_events, fake_comfy):
    fake_comfy.exec_ms = 300
    ids = [(await job_service.submit(job_request(user_id=n, prompt=f"job {n}"))).job.id for n in range(3)]
    await core_events.wait_for(lambda: core_events.of(JobStarted, ids[0]))
    state = await host_gpu().take()
    assert state == HostGpuChanged(True, (Reason.MANUAL,), None, True, ())
    assert job_service.paused
    await core_events.wait_for(lambda: core_events.of(JobFinished, ids[0]))
    await fake_comfy.until_idle()
    assert fake_comfy.models.resident == []                   # VRAM freed once the running job ended
    assert [(await job_service.get(i)).state for i in ids[1:]] == [JobState.QUEUED, JobState.QUEUED]
    assert core_events.of(HostGpuChanged)[-1].in_use


async def test_share_my_gpu_again_resumes_the_queue(job_service, host_gpu, job_request, core_events):
    gpu = host_gpu()
    await gpu.take()
    accepted = await job_service.submit(job_request())
    state = await gpu.give_back()
    assert state == HostGpuChanged(False, (), None, None, ()) and not job_service.paused
    await core_events.wait_final([accepted.job.id])
    assert core_events.of(JobFinished, accepted.job.id)


async def test_a_free_that_fails_still_holds_the_queue_and_tells_the_host(job_service, host_gpu, fake_comfy,
                                                                         core_events):
    fake_comfy.fail_http("/free", times=1, status=500)
    state = await host_gpu().take()
    assert job_service.paused and state.in_use and state.freed is False
    assert state.not_freed == (fake_comfy.url,)
    assert core_events.of(HostGpuChanged)[-1].not_freed == state.not_freed


async def test_a_queue_an_admin_paused_stays_paused_after_the_host_shares_again(job_service, host_gpu):
    await job_service.pause()
    gpu = host_gpu()
    await gpu.take()
    await gpu.give_back()
    assert job_service.paused


async def test_the_schedule_takes_the_gpu_and_says_when_it_is_back(job_service, host_gpu):
    clock = Clock(at(0, 17))
    gpu = host_gpu(clock=clock, schedule=Schedule.parse("mon-fri 18:00-23:00"))
    assert not (await gpu.check()).in_use
    clock.now = at(0, 18, 1)
    state = await gpu.check()
    assert state.in_use and state.reasons == (Reason.SCHEDULE,) and state.back_at == at(0, 23)
    assert job_service.paused
    clock.now = at(0, 23)
    assert not (await gpu.check()).in_use and not job_service.paused


async def test_sharing_by_hand_during_the_schedule_holds_until_the_window_ends(job_service, host_gpu):
    clock = Clock(at(0, 19))
    gpu = host_gpu(clock=clock, schedule=Schedule.parse("mon-fri 18:00-23:00"))
    await gpu.check()
    await gpu.give_back()
    assert not (await gpu.check()).in_use and not job_service.paused      # the host's word stands
    clock.now = at(1, 18, 30)                                             # the next evening
    assert (await gpu.check()).in_use


async def test_a_named_program_takes_the_gpu_while_it_runs(job_service, host_gpu):
    running = ["explorer.exe", "Discord.exe"]
    gpu = host_gpu(programs=program_names("EldenRing.exe"), list_programs=lambda: running)
    assert not (await gpu.check()).in_use
    running.append("eldenring.exe")
    state = await gpu.check()
    assert state.in_use and state.reasons == (Reason.PROGRAM,) and state.back_at is None   # "back soon"
    running.remove("eldenring.exe")
    assert not (await gpu.check()).in_use and not job_service.paused


async def test_a_program_list_that_cannot_be_read_changes_nothing(job_service, host_gpu):
    def broken():
        raise PermissionError("access denied")
    gpu = host_gpu(programs=("game",), list_programs=broken)
    assert not (await gpu.check()).in_use


async def test_manual_and_schedule_together_say_back_soon(job_service, host_gpu):
    gpu = host_gpu(clock=Clock(at(0, 19)), schedule=Schedule.parse("mon-fri 18:00-23:00"))
    await gpu.check()
    state = await gpu.take()
    assert set(state.reasons) == {Reason.MANUAL, Reason.SCHEDULE} and state.back_at is None


async def test_sharing_by_hand_while_a_game_runs_holds_until_it_is_started_again(job_service, host_gpu):
    running = ["game.exe"]
    gpu = host_gpu(programs=("game",), list_programs=lambda: running)
    assert (await gpu.check()).in_use
    await gpu.give_back()
    assert not (await gpu.check()).in_use
    running.clear()
    await gpu.check()
    running.append("game.exe")
    assert (await gpu.check()).in_use


async def test_started_it_watches_the_programs_on_its_own(job_service, host_gpu, core_events):
    running: list[str] = []
    gpu = host_gpu(programs=("game",), list_programs=lambda: running, check_every_s=0.01)
    await gpu.start()
    try:
        running.append("Game.exe")
        await core_events.wait_for(lambda: any(e.in_use for e in core_events.of(HostGpuChanged)))
        assert job_service.paused
    finally:
        await gpu.stop()


async def test_the_hold_is_not_stored_so_a_restart_looks_at_the_schedule_again(make_job_service, app_paths,
                                                                              core_bus):
    from core.store import Database
    db = await Database.open(None, app_paths.data_dir)
    try:
        service = await make_job_service(db=db)
        gpu = HostGpu(queue=service, backends=lambda: service.test_clients, publish=core_bus.publish,
                      clock=Clock(at(0, 12)))
        await gpu.take()
        assert service.paused
        await service.stop()
        again = await make_job_service(db=db)
        assert not again.paused
    finally:
        await db.close()
