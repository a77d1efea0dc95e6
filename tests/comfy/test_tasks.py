import asyncio
import logging

import pytest

from comfy.tasks import TaskManager


async def test_spawned_tasks_are_named_and_cancelled_on_close():
    tasks = TaskManager("svc")
    started = asyncio.Event()

    async def forever():
        started.set()
        await asyncio.Event().wait()

    task = tasks.spawn(forever(), name="loop")
    await started.wait()
    assert task.get_name() == "svc: loop"
    assert tasks.running == [task]
    await tasks.close()
    assert task.cancelled()
    assert tasks.running == []


async def test_a_failing_task_is_logged_not_lost(caplog):
    tasks = TaskManager("svc")

    async def boom():
        raise ValueError("bad")

    with caplog.at_level(logging.ERROR, logger="core.tasks"):
        task = tasks.spawn(boom(), name="boom")
        await asyncio.gather(task, return_exceptions=True)
        await asyncio.sleep(0)
    assert "svc: boom failed" in caplog.text
    assert tasks.running == []


async def test_spawn_after_close_is_refused_and_the_coroutine_closed():
    tasks = TaskManager("svc")
    await tasks.close()

    async def never():
        pass

    coro = never()
    with pytest.raises(RuntimeError):
        tasks.spawn(coro, name="late")
    assert coro.cr_frame is None


async def test_on_done_gets_the_result_and_on_error_the_failure_instead_of_the_log(caplog):
    tasks = TaskManager("svc")
    results, errors = [], []

    async def answer():
        return 42

    async def boom():
        raise ValueError("bad")

    with caplog.at_level(logging.ERROR, logger="comfy.tasks"):
        await asyncio.gather(tasks.spawn(answer(), name="a", on_done=results.append),
                             tasks.spawn(boom(), name="b", on_error=errors.append), return_exceptions=True)
        await asyncio.sleep(0)
    assert results == [42]
    assert [str(e) for e in errors] == ["bad"]
    assert "failed" not in caplog.text
