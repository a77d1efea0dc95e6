"""The outbox: a result counts as delivered only once its Discord message is posted, and what
ended while the bot could not tell anyone is delivered once when it starts again."""
from __future__ import annotations

from core.jobs import JobState
from tests.bot.conftest import World, imagine, results

MODEL = "z_image_turbo"


async def test_a_posted_result_is_marked_delivered(world: World):
    w = world
    session = await imagine(w, w.alice, "a red fox")
    [result] = results(session)
    await w.until(lambda: not w.bot.feedback.statuses)
    job = await w.job_service.get(1)
    assert job.state == JobState.DONE and job.delivered_at is not None
    assert job.feedback_message_id == result.id
    assert await w.job_service.undelivered("discord") == []


async def test_a_result_that_ended_while_the_bot_was_away_is_delivered_once_on_start(world: World, core_events):
    w = world
    await w.job_service.pause()
    await w.alice.slash(w.general, "imagine", model=MODEL, prompt="mine")
    session = w.session_of(w.alice)
    status = session.last_message
    await w.until(lambda: w.bot.feedback.statuses.get(1) is not None
                  and w.bot.feedback.statuses[1].message_id == status.id)
    # The bot stops listening (as if it crashed after the job's end was stored, before its post).
    for unsubscribe in w.bot.feedback._unsubscribe:
        unsubscribe()
    await w.job_service.resume()
    await core_events.wait_final([1])
    assert (await w.job_service.get(1)).state == JobState.DONE
    assert [j.id for j in await w.job_service.undelivered("discord")] == [1]
    posts_before = len(w.requests("POST", f"/channels/{session.id}/messages"))

    w.bot = w.make_bot()
    await w.env.restart_bot(w.bot)
    await w.until(lambda: results(session), advance=1)
    [result] = results(session)
    assert result.id == status.id                                       # the same message became the result
    assert len(w.requests("POST", f"/channels/{session.id}/messages")) == posts_before
    await w.until(lambda: not w.bot.feedback.statuses, advance=0.1)     # delivered, then marked
    assert await w.job_service.undelivered("discord") == []

    edits = len(w.requests("PATCH"))
    await w.env.restart_bot(w.make_bot())                               # and never again
    await w.env.advance_time(2)
    assert len(w.requests("PATCH")) == edits and len(results(session)) == 1
