"""Live queue feedback: one status message per job that counts down, shows progress and becomes the result.

The fake ComfyUI is gated here (`gate.release()` lets one job execute) so the jobs ahead finish one by one.
"""
import math
from collections import defaultdict

import pytest

import simcord.http.router

from bot.feedback import CHANNEL_EDITS, CHANNEL_WINDOW_S, EDIT_INTERVAL_S, progress_bar
from comfy.supervisor import ComfyStateChanged, SupervisorState
from core.jobs import JobFailed, JobFinished, JobPositionChanged, JobStarted
from tests.bot.conftest import SPANISH_USERS, World

MODEL = "z_image_turbo"
DEPTH_1 = {"service_options": {"pipeline_depth": 1}}





def status_edits(w: World, channel, message_id: int) -> list[str]:
    path = f"/channels/{channel.id}/messages/{message_id}"
    return [r.json.get("content") for r in w.requests("PATCH") if r.path == path and r.json]


def result_of(channel):
    return next((m for m in reversed(channel.history()) if m.attachments and m.components), None)


@pytest.mark.parametrize("world_options", [DEPTH_1])
async def test_position_counts_down_then_progress_then_the_result(world: World, gate, fake_comfy):
    w = world
    service = w.job_service
    await service.pause()
    for n in range(4):                          # admins have no job limit
        await w.admin.slash(w.general, "imagine", model=MODEL, prompt=f"ahead {n}")
    await w.alice.slash(w.general, "imagine", model=MODEL, prompt="mine")
    session = w.session_of(w.alice)
    status = session.last_message
    # Paused: the place, and why it does not move; no ETA is promised.
    assert status.content == "⏸️ **Z-Image Turbo** · Pos: **5** · The queue is paused by the host; your job keeps its place."

    def shown() -> str:
        return next(m for m in session.history() if m.id == status.id).content

    def position() -> int | None:
        text = shown()
        if "Your turn: starting in a moment" in text:     # position 0: left our queue for ComfyUI's
            return 0
        return int(text.split("Pos: **")[1].split("**")[0]) if "Pos: **" in text else None

    await service.resume()                      # the head of the queue goes to ComfyUI
    await w.until(lambda: position() < 5, advance=2)
    seen = [5, position()]
    while seen[-1] > 1:
        gate.release()                          # the job running ahead finishes: alice moves up
        last = seen[-1]
        await w.until(lambda: position() < last, advance=2)
        seen.append(position())
    assert seen == sorted(set(seen), reverse=True) and len(seen) >= 4, seen
    fake_comfy.exec_ms = 1200                   # slow enough to show progress and previews
    for _ in range(5):
        gate.release()
    await w.until(lambda: result_of(session) is not None, advance=0.5)
    result = result_of(session)
    assert result.id == status.id               # the status message became the result
    contents = status_edits(w, session, status.id)
    shown_positions = [int(c.split("Pos: **")[1].split("**")[0]) for c in contents if "Pos: **" in c]
    assert shown_positions == [p for p in seen[1:] if p > 0]
    assert any("Generating `" in c for c in contents), contents
    assert contents[-1].startswith(f"<@{w.alice.id}> ✅ Done in ")
    # A preview image was shown while generating (the fake sends one per progress step).
    preview_edits = [r for r in w.requests("PATCH") if r.path.endswith(str(status.id)) and r.json
                     and "Generating" in (r.json.get("content") or "") and r.json.get("attachments")]
    assert preview_edits, "no preview shown"


async def test_edits_are_throttled_and_only_when_the_text_changes(world: World, gate, core_bus):
    w = world
    await w.job_service.pause()
    await w.alice.slash(w.general, "imagine", model=MODEL, prompt="mine")
    session = w.session_of(w.alice)
    status = session.last_message
    eta = w.job_service.eta_s(1)
    # The same position again: no edit at all.
    core_bus.publish(JobPositionChanged(1, w.alice.id, 1, 1, eta))
    await w.env.advance_time(5)
    assert status_edits(w, session, status.id) == []
    # Four changes within one interval: the first is shown at once, the rest coalesce into the latest.
    for position in (9, 8, 7, 6):
        core_bus.publish(JobPositionChanged(1, w.alice.id, position, 9, eta))
        await w.env.advance_time(0.2)
    assert len(status_edits(w, session, status.id)) == 1
    await w.env.advance_time(EDIT_INTERVAL_S)
    edits = status_edits(w, session, status.id)
    assert len(edits) == 2 and "Pos: **9**" in edits[0] and "Pos: **6**" in edits[1]
    await w.job_service.resume()
    gate.release()
    await w.until(lambda: result_of(session) is not None, advance=2)


async def test_a_failure_says_why_and_offers_a_retry_with_the_same_seed(world: World, fake_comfy):
    w = world
    fake_comfy.fail_next_prompt(exception_type="RuntimeError", message="boom")
    await w.alice.slash(w.general, "imagine", model=MODEL, prompt="will fail", seed=7)
    session = w.session_of(w.alice)
    await w.until(lambda: "failed" in (session.last_message.content or ""), advance=2)
    failure = session.last_message
    assert failure.content == (f"❌ <@{w.alice.id}> job #1 failed: the image server reported an error. Try another "
                               "prompt or model; if it keeps failing, tell an admin.")
    assert [c.label for row in failure.components for c in row.children] == ["Retry"]
    r = await w.alice.click(failure, label="Retry")
    assert "Job #2 is queued" in r.response.content
    await w.until(lambda: result_of(session) is not None, advance=2)
    again = await w.job_service.get(2)
    assert again.seed == 7 and again.request.prompt == "will fail" and again.request.parent_job_id == 1


@pytest.mark.parametrize("spanish", [False, True])
async def test_out_of_memory_says_try_a_smaller_size(world: World, fake_comfy, spanish):
    w = world
    if spanish:
        SPANISH_USERS.add(w.alice.id)
    fake_comfy.fail_next_prompt(exception_type="torch.OutOfMemoryError", message="Allocation on device")
    await w.alice.slash(w.general, "imagine", model=MODEL, prompt="huge")
    session = w.session_of(w.alice)
    await w.until(lambda: "❌" in (session.last_message.content or ""), advance=2)
    text = session.last_message.content
    if spanish:
        assert text == (f"❌ <@{w.alice.id}> el trabajo #1 falló: la tarjeta gráfica del servidor de imágenes se quedó "
                        "sin memoria. Prueba un tamaño menor (otro `formato`) o inténtalo cuando el servidor esté "
                        "menos ocupado.")
    else:
        assert text == (f"❌ <@{w.alice.id}> job #1 failed: the image server's graphics card ran out of memory. Try a "
                        "smaller size (a smaller `aspect`), or try again when the server is less busy.")
    assert "Allocation" not in text and "torch" not in text


async def test_a_deleted_status_message_does_not_lose_the_result(world: World, gate):
    w = world
    await w.job_service.pause()
    await w.alice.slash(w.general, "imagine", model=MODEL, prompt="mine")
    session = w.session_of(w.alice)
    status = session.last_message
    await w.bot.get_channel(session.id).get_partial_message(status.id).delete()
    await w.job_service.resume()
    gate.release()
    await w.until(lambda: result_of(session) is not None, advance=2)
    assert result_of(session).id != status.id


async def test_an_offline_image_server_is_shown_to_waiting_jobs(world: World, core_bus, fake_comfy):
    w = world
    await w.job_service.pause()
    await w.alice.slash(w.general, "imagine", model=MODEL, prompt="mine")
    session = w.session_of(w.alice)
    core_bus.publish(ComfyStateChanged(SupervisorState.WAITING, fake_comfy.url, "not answering", False, 0))
    await w.until(lambda: "image server is offline" in session.last_message.content, advance=2)
    assert session.last_message.content == ("⏳ **Z-Image Turbo** · Pos: **1** · The image server is offline; your job "
                                            "keeps its place and starts when it is back.")
    r = await w.bob.slash(w.general, "imagine", model=MODEL, prompt="later")
    assert "image server is offline right now. Your job keeps its place" in r.response.content
    r = await w.bob.slash(w.general, "queue")
    assert r.response.content.startswith("The image server is offline: jobs keep their place")
    core_bus.publish(ComfyStateChanged(SupervisorState.UP, fake_comfy.url, "up", False, 0))
    await w.until(lambda: "paused by the host" in session.last_message.content, advance=2)


@pytest.mark.parametrize("world_options", [{"user_job_limit": 4}])
async def test_edits_per_job_stay_bounded_under_a_long_queue(world: World):
    """40 jobs by 10 users: every job gets its result, and edits per status message stay bounded."""
    w = world
    members = [w.guild.add_member(w.env.create_user(f"user{i}")) for i in range(10)]
    await w.env.settle()
    await w.job_service.pause()
    for round_ in range(4):
        for member in members:
            r = await member.slash(w.general, "imagine", model=MODEL, prompt=f"job {round_} of {member.name}")
            assert "is queued at position" in r.response.content
    assert len(w.job_service.queued()) == 40
    start = w.env.now()
    await w.job_service.resume()
    sessions = [w.session_of(m) for m in members]

    def all_delivered():
        return sum(1 for s in sessions for m in s.history() if m.attachments) == 40

    await w.until(all_delivered, timeout=30, advance=0.5)
    elapsed = (w.env.now() - start).total_seconds()
    per_message = defaultdict(int)
    for request in w.requests("PATCH"):
        if "/messages/" in request.path:
            per_message[request.path] += 1
    assert len(per_message) == 40
    bound = math.ceil(elapsed / EDIT_INTERVAL_S) + 1
    assert max(per_message.values()) <= bound
    assert sum(per_message.values()) / 40 <= bound


def test_progress_bar():
    assert progress_bar(0) == "░" * 12
    assert progress_bar(0.5) == "█" * 6 + "░" * 6
    assert progress_bar(1.0) == "█" * 12


async def test_a_retried_job_shows_its_place_again_and_odd_failures_stay_generic(world: World, core_bus):
    w = world
    await w.job_service.pause()
    await w.alice.slash(w.general, "imagine", model=MODEL, prompt="mine")
    session = w.session_of(w.alice)
    job = await w.job_service.get(1)
    core_bus.publish(JobStarted(1, w.alice.id, job, "http://127.0.0.1:8188"))
    await w.until(lambda: "Starting" in session.last_message.content, advance=2)
    core_bus.publish(JobPositionChanged(1, w.alice.id, 1, 1, None))     # ComfyUI lost it: queued again
    await w.until(lambda: "Pos: **1**" in session.last_message.content, advance=2)
    core_bus.publish(JobFailed(1, w.alice.id, job, "something_new", "Traceback at /home/secret/path.py"))
    await w.until(lambda: "failed" in session.last_message.content, advance=2)
    text = session.last_message.content
    assert "something went wrong (something_new)" in text and "/home/secret" not in text


@pytest.fixture
def edit_times(world: World, monkeypatch):
    """(message path, virtual seconds) of every message edit, as Discord would see them arrive."""
    seen: list[tuple[str, float]] = []
    dispatch = simcord.http.router.dispatch

    def timed(backend, method, path, **kwargs):
        if method == "PATCH" and "/messages/" in path:
            seen.append((path, world.env.now().timestamp()))
        return dispatch(backend, method, path, **kwargs)

    monkeypatch.setattr(simcord.http.router, "dispatch", timed)
    return seen


@pytest.mark.parametrize("world_options", [{"user_job_limit": 8, "service_options": {"pipeline_depth": 1}}])
async def test_one_users_many_jobs_stay_within_the_channels_edit_limit(world: World, gate, core_bus, edit_times):
    """8 jobs by one user share a session channel: at most 5 edits in any 5 s there, and every result arrives."""
    w = world
    finished: list[int] = []
    core_bus.subscribe(JobFinished, lambda e: finished.append(e.job_id))
    await w.job_service.pause()
    for n in range(8):
        await w.alice.slash(w.general, "imagine", model=MODEL, prompt=f"job {n}")
    session = w.session_of(w.alice)
    await w.job_service.resume()
    for done in range(1, 9):                # one job ends about every second: up to seven places to update each time
        gate.release()
        await w.until(lambda: len(finished) >= done, advance=0.2)
        await w.env.advance_time(0.8)
    await w.until(lambda: len([m for m in session.history() if m.attachments and m.components]) == 8, advance=0.5)
    await w.advance(10)
    prefix = f"/channels/{session.id}/messages/"
    times = sorted(t for path, t in edit_times if path.startswith(prefix))
    assert len(times) > 8                           # the countdown was shown, not only the results
    busiest = max(sum(1 for u in times if t - CHANNEL_WINDOW_S < u <= t) for t in times)
    assert CHANNEL_EDITS - 1 <= busiest <= CHANNEL_EDITS, busiest   # the limit was reached, never passed
    per_message = defaultdict(list)
    for path, t in edit_times:
        per_message[path].append(t)
    for stamps in per_message.values():             # the per-message rule holds too (the result may come sooner)
        gaps = [b - a for a, b in zip(stamps, stamps[1:-1])]
        assert all(gap >= EDIT_INTERVAL_S - 1e-6 for gap in gaps), gaps


@pytest.mark.parametrize("world_options", [DEPTH_1])
async def test_after_a_restart_the_same_status_message_keeps_going_and_becomes_the_result(
        world: World, gate, make_job_service, app_paths):
    """Bot and queue restart while alice waits second in line: her one status message carries on."""
    w = world
    await w.job_service.pause()
    await w.bob.slash(w.general, "imagine", model=MODEL, prompt="ahead")
    await w.alice.slash(w.general, "imagine", model=MODEL, prompt="mine")
    session = w.session_of(w.alice)
    status = session.last_message
    assert "Pos: **2**" in status.content
    posts_before = len(w.requests("POST", f"/channels/{session.id}/messages"))
    # A new process: the queue and the bot start again on the same database (still paused).
    await w.job_service.stop()
    service = await make_job_service(db=w.db, start=False, service_options=DEPTH_1["service_options"],
                                     allowed_guild_ids=w.settings.allowed_guild_ids)
    new_bot = w.make_bot(job_service=service)
    await w.env.restart_bot(new_bot)
    w.bot, w.job_service = new_bot, service
    await service.start()
    assert service.paused and service.position(2) == 2
    await service.resume()
    gate.release()                          # bob's job ends: alice is next, in the same message

    def shown() -> str:
        return next(m for m in session.history() if m.id == status.id).content

    await w.until(lambda: "Your turn: starting in a moment" in shown(), advance=2)
    gate.release()
    await w.until(lambda: result_of(session) is not None, advance=2)
    assert result_of(session).id == status.id
    assert shown().startswith(f"<@{w.alice.id}> ✅ Done in ")
    assert len(w.requests("POST", f"/channels/{session.id}/messages")) == posts_before   # no second message


@pytest.mark.parametrize("world_options", [DEPTH_1])
@pytest.mark.parametrize("spanish, expected", [(False, "📤 **Z-Image Turbo** · Your turn: starting in a moment"),
                                               (True, "📤 **Z-Image Turbo** · Es tu turno: empieza en un momento")])
async def test_a_job_handed_to_comfyui_says_so(world: World, gate, spanish, expected):
    """Position 0: the job left our queue for ComfyUI's, behind the image being made there."""
    w = world
    if spanish:
        SPANISH_USERS.add(w.alice.id)
    await w.job_service.pause()
    await w.bob.slash(w.general, "imagine", model=MODEL, prompt="ahead")
    await w.alice.slash(w.general, "imagine", model=MODEL, prompt="mine")
    session = w.session_of(w.alice)
    status = session.last_message
    await w.job_service.resume()                # bob's job runs (held at the fake's door), alice's is sent behind it
    await w.until(lambda: next(m for m in session.history() if m.id == status.id).content == expected, advance=2)
    gate.release()
    gate.release()
    await w.until(lambda: result_of(session) is not None, advance=2)
    assert result_of(session).id == status.id


async def test_waiting_users_are_told_the_host_uses_the_gpu_in_their_language(world: World, core_bus):
    from datetime import datetime, timezone

    from core.gpu_mode import HostGpu, Schedule

    w = world
    SPANISH_USERS.add(w.bob.id)
    evening = datetime(2026, 11, 30, 19, 0, tzinfo=timezone.utc)           # a Monday
    host = HostGpu(queue=w.job_service, backends=lambda: w.job_service.test_clients, publish=core_bus.publish,
                   clock=lambda: evening, schedule=Schedule.parse("mon-fri 18:00-23:00"))
    await host.check()                                         # the evening schedule: back at 23:00
    back = f"<t:{int(datetime(2026, 11, 30, 23, 0, tzinfo=timezone.utc).timestamp())}:t>"
    r = await w.alice.slash(w.general, "imagine", model=MODEL, prompt="mine")
    assert f"The host is using the GPU right now, back at about {back}: your job keeps its place" in r.response.content
    r = await w.bob.slash(w.general, "imagine", model=MODEL, prompt="el mío")
    assert f"El anfitrión está usando la GPU ahora mismo; vuelve hacia las {back}" in r.response.content
    alice, bob = w.session_of(w.alice), w.session_of(w.bob)
    await w.until(lambda: f"The host is using the GPU, back at about {back}." in alice.last_message.content, advance=2)
    r = await w.alice.slash(w.general, "queue")
    assert f"The host is using the GPU, back at about {back}: nothing new starts" in r.response.content
    await host.take()                                          # and by hand: when it ends is not known
    await w.until(lambda: "The host is using the GPU, back soon." in alice.last_message.content, advance=2)
    await w.until(lambda: "El anfitrión está usando la GPU; vuelve pronto." in bob.last_message.content, advance=2)
    await host.give_back()                                     # "Share my GPU again": the jobs run
    await w.until(lambda: "Done" in alice.last_message.content, advance=2)


@pytest.mark.parametrize("world_options", [DEPTH_1])
async def test_a_job_with_the_image_server_says_when_it_goes_offline_and_when_it_is_retried(world: World, gate,
                                                                                             core_bus, fake_comfy):
    w = world
    await w.job_service.pause()        # (the job starts outside the bot's own tasks, as in production)
    await w.alice.slash(w.general, "imagine", model=MODEL, prompt="mine")
    session = w.session_of(w.alice)
    status = session.last_message

    def shown() -> str:
        return next(m for m in session.history() if m.id == status.id).content

    await w.job_service.resume()
    await w.until(lambda: shown() == "📤 **Z-Image Turbo** · Your turn: starting in a moment", advance=2)
    core_bus.publish(ComfyStateChanged(SupervisorState.WAITING, fake_comfy.url, "not answering", False, 0))
    await w.until(lambda: shown() == ("⚠️ **Z-Image Turbo** · The image server went offline; your job keeps its place "
                                      "and runs as soon as it is back."), advance=2)
    core_bus.publish(ComfyStateChanged(SupervisorState.UP, fake_comfy.url, "up", False, 0))
    await w.until(lambda: shown().startswith("📤"), advance=2)
    # ComfyUI lost it and the queue takes it back: the same message says it is being retried.
    core_bus.publish(JobPositionChanged(1, w.alice.id, 1, 1, 4.0))
    await w.until(lambda: shown() == "🔁 **Z-Image Turbo** · Retrying · Pos: **1** · ETA ~4.0 s", advance=2)
    gate.release()
    await w.until(lambda: result_of(session) is not None, advance=2)


@pytest.mark.parametrize("spanish", [False, True])
async def test_cancel_of_a_finished_job_says_it_finished(world: World, spanish):
    w = world
    if spanish:
        SPANISH_USERS.add(w.alice.id)
    await w.alice.slash(w.general, "imagine", model=MODEL, prompt="quick")
    session = w.session_of(w.alice)
    await w.until(lambda: result_of(session) is not None, advance=2)
    r = await w.alice.slash(w.general, "cancel", job_id=1)
    r2 = await w.alice.slash(w.general, "cancel", job_id=99)
    if spanish:
        assert r.response.content == "El trabajo #1 ya ha terminado: no hay nada que cancelar."
        assert r2.response.content == "No hay ningún trabajo #99."
    else:
        assert r.response.content == "Job #1 has already finished: there is nothing to cancel."
        assert r2.response.content == "There is no job #99."
