"""One owner for background tasks: start them with a name, keep a strong reference, log a failure
instead of losing it, and cancel and wait for all of them on close (FeelUOwn's TaskManager).

Each long-lived service owns one `TaskManager`; nothing keeps module-level task sets. It lives in
comfy/ (the lowest layer, stdlib only) so the ComfyUI client can own its tasks too; core re-exports it.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

log = logging.getLogger(__name__)


class TaskManager:
    def __init__(self, owner: str) -> None:
        self.owner = owner
        self._tasks: set[asyncio.Task] = set()
        self._closed = False

    def spawn(self, coro: Coroutine[Any, Any, Any], *, name: str,
              on_done: Callable[[Any], None] | None = None,
              on_error: Callable[[BaseException], None] | None = None) -> asyncio.Task:
        """Run `coro` as a task named `owner: name`. When it ends, `on_done(result)` or
        `on_error(exception)` is called (without `on_error` a failure is logged); a cancelled task
        calls neither. After `close()` the coroutine is closed unrun."""
        if self._closed:
            coro.close()
            raise RuntimeError(f"{self.owner} is closed; {name} was not started")
        task = asyncio.get_running_loop().create_task(coro, name=f"{self.owner}: {name}")
        self._tasks.add(task)
        task.add_done_callback(lambda t: self._finished(t, on_done, on_error))
        return task

    def _finished(self, task: asyncio.Task, on_done: Callable[[Any], None] | None,
                  on_error: Callable[[BaseException], None] | None) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        error = task.exception()
        if error is None:
            if on_done is not None:
                on_done(task.result())
        elif on_error is not None:
            on_error(error)
        else:
            log.error("%s failed", task.get_name(), exc_info=error)

    @property
    def running(self) -> list[asyncio.Task]:
        return [t for t in self._tasks if not t.done()]

    async def close(self, timeout: float = 5.0) -> None:
        """Cancel every task and wait up to `timeout` seconds for them to finish."""
        self._closed = True
        tasks = self.running
        for task in tasks:
            task.cancel()
        if tasks:
            done, pending = await asyncio.wait(tasks, timeout=timeout)
            for task in pending:
                log.warning("%s did not stop within %.1f s", task.get_name(), timeout)
        self._tasks.clear()
