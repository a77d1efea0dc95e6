"""The event bus: typed subscriptions, inline sync handlers, ordered async handlers, no leaks of errors."""
import asyncio
from dataclasses import dataclass

from core.events import EventBus


@dataclass(frozen=True)
class Base:
    n: int


@dataclass(frozen=True)
class Child(Base):
    pass


@dataclass(frozen=True)
class Other:
    pass


async def test_sync_subscribers_run_inline_and_see_subclasses():
    bus = EventBus()
    seen = []
    bus.subscribe(Base, seen.append)
    bus.publish(Child(1))
    bus.publish(Other())
    assert seen == [Child(1)]


async def test_async_subscribers_keep_order_and_do_not_block_the_publisher():
    bus = EventBus()
    release = asyncio.Event()
    seen = []

    async def slow(event):
        await release.wait()
        seen.append(event.n)

    bus.subscribe(Base, slow)
    for n in range(5):
        bus.publish(Base(n))  # returns at once although the subscriber is blocked
    assert seen == []
    release.set()
    await bus.drain()
    assert seen == [0, 1, 2, 3, 4]
    await bus.close()


async def test_a_failing_subscriber_does_not_stop_the_others(caplog):
    bus = EventBus()
    seen = []

    def broken(event):
        raise ValueError("boom")

    async def also_broken(event):
        raise ValueError("async boom")

    bus.subscribe(Base, broken)
    bus.subscribe(Base, also_broken)
    bus.subscribe(Base, seen.append)
    bus.publish(Base(1))
    await bus.drain()
    assert seen == [Base(1)]
    assert "boom" in caplog.text
    await bus.close()


async def test_unsubscribe():
    bus = EventBus()
    seen = []
    unsubscribe = bus.subscribe(Base, seen.append)
    unsubscribe()
    bus.publish(Base(1))
    assert seen == []
