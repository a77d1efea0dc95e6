"""A small typed event bus: the queue publishes, the bot and the GUI observe.

No Qt and no discord here. Subscribers register for an event class (and get its subclasses
too). A plain function is called inline, in publish order: the Qt bridge uses this to turn an
event into a signal at once. A coroutine function gets its own queue and worker task, so a slow
subscriber (a Discord edit) never delays the publisher or the other subscribers, and still sees
its events in order.
"""
from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

log = logging.getLogger(__name__)

E = TypeVar("E")
Handler = Callable[[Any], Awaitable[None] | None]


@dataclass(eq=False)
class _Subscription:
    event_type: type
    handler: Handler
    is_async: bool
    queue: asyncio.Queue | None = None
    worker: asyncio.Task | None = None
    idle: asyncio.Event = field(default_factory=asyncio.Event)


class EventBus:
    def __init__(self) -> None:
        self._subs: list[_Subscription] = []

    def subscribe(self, event_type: type[E], handler: Callable[[E], Awaitable[None] | None]) -> Callable[[], None]:
        """Call `handler` for every published `event_type` (or subclass). Returns an unsubscribe function."""
        sub = _Subscription(event_type, handler, inspect.iscoroutinefunction(handler))
        sub.idle.set()
        self._subs.append(sub)

        def unsubscribe() -> None:
            if sub in self._subs:
                self._subs.remove(sub)
            if sub.worker is not None:
                sub.worker.cancel()

        return unsubscribe

    def publish(self, event: object) -> None:
        """Deliver `event` to its subscribers; never raises and never waits."""
        for sub in list(self._subs):
            if not isinstance(event, sub.event_type):
                continue
            if not sub.is_async:
                try:
                    sub.handler(event)
                except Exception:
                    log.exception("event subscriber %r failed on %s", sub.handler, type(event).__name__)
                continue
            if sub.queue is None:
                sub.queue = asyncio.Queue()
                sub.worker = asyncio.get_running_loop().create_task(self._run(sub))
            sub.idle.clear()
            sub.queue.put_nowait(event)

    async def _run(self, sub: _Subscription) -> None:
        assert sub.queue is not None
        while True:
            event = await sub.queue.get()
            try:
                await sub.handler(event)  # type: ignore[misc]
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("event subscriber %r failed on %s", sub.handler, type(event).__name__)
            finally:
                if sub.queue.empty():
                    sub.idle.set()

    async def drain(self) -> None:
        """Wait until every async subscriber has handled everything published so far (tests, shutdown)."""
        while True:
            pending = [s for s in self._subs if not s.idle.is_set()]
            if not pending:
                return
            await asyncio.gather(*(s.idle.wait() for s in pending))

    async def close(self) -> None:
        for sub in self._subs:
            if sub.worker is not None:
                sub.worker.cancel()
        workers = [s.worker for s in self._subs if s.worker is not None]
        await asyncio.gather(*workers, return_exceptions=True)
        self._subs.clear()
