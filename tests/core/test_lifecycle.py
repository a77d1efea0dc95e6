"""The lifecycle table: every allowed move is allowed, every other one refused, and the scheduler's
one transition function writes before it changes memory or publishes."""
from __future__ import annotations

import itertools

import pytest
from sqlalchemy import select

from core.jobs import JobState
from core.lifecycle import MOVES, IllegalMove, Phase, allowed, check_move
from core.store import JobRow

Q, S, R, D, F, C = (JobState.QUEUED, JobState.SUBMITTED, JobState.RUNNING, JobState.DONE, JobState.FAILED,
                    JobState.CANCELLED)

# Written out again here on purpose: a change to the table must be a change to this list too.
ALLOWED = {(Q, S), (Q, C), (Q, F),
           (S, R), (S, D), (S, Q), (S, F), (S, C),
           (R, D), (R, Q), (R, F), (R, C)}
ALL_PAIRS = list(itertools.product(JobState, JobState))


@pytest.mark.parametrize("current,new", sorted(ALLOWED))
def test_allowed_move(current, new):
    assert allowed(current, new)
    check_move(1, current, new)


@pytest.mark.parametrize("current,new", [p for p in ALL_PAIRS if p not in ALLOWED])
def test_forbidden_move(current, new):
    assert not allowed(current, new)
    with pytest.raises(IllegalMove, match=f"from {current.value} to {new.value}"):
        check_move(7, current, new)


def test_final_states_have_no_way_out():
    assert all(not MOVES[state] for state in JobState if state.is_final)
    assert all(MOVES[state] for state in JobState if not state.is_final)


def test_only_waiting_and_sent_jobs_can_be_cancelled():
    assert {p for p in Phase if p.cancellable} == {Phase.WAITING, Phase.PREPARING, Phase.SENT, Phase.RUNNING}


async def test_a_forbidden_move_changes_nothing(make_job_service, job_request, core_events):
    service = await make_job_service()
    await service.pause()
    accepted = await service.submit(job_request())
    scheduler = service._scheduler
    entry = scheduler.entries[accepted.job.id]
    published = len(core_events.events)
    with pytest.raises(IllegalMove):
        await scheduler.transition(entry, JobState.DONE)
    assert entry.job.state == JobState.QUEUED and len(core_events.events) == published
    async with service._db.sessions() as session:
        assert (await session.scalar(select(JobRow.state).where(JobRow.id == accepted.job.id))) == "queued"


async def test_a_job_that_ended_meanwhile_is_left_alone(make_job_service, job_request, core_events):
    service = await make_job_service()
    await service.pause()
    accepted = await service.submit(job_request())
    entry = service._scheduler.entries[accepted.job.id]
    await service.cancel(accepted.job.id, is_admin=True)
    assert await service._scheduler.transition(entry, JobState.FAILED) is False
    assert (await service.get(accepted.job.id)).state == JobState.CANCELLED
