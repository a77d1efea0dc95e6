"""SessionService: deadlines of private session channels in the database, events for the GUI."""
from datetime import UTC, datetime, timedelta

import pytest

from core.events import EventBus
from core.sessions import SessionChanged, SessionService
from core.settings import Settings

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
ALICE, BOB, GUILD = 101, 202, 9000


@pytest.fixture
def bus():
    return EventBus()


@pytest.fixture
def make_service(database, bus, app_paths):
    def make(**overrides):
        settings = Settings(paths=app_paths, **overrides)
        return SessionService(db=database, bus=bus, settings=settings, clock=lambda: T0)
    return make


async def test_touch_creates_a_session_with_a_deadline(make_service, bus):
    seen = []
    bus.subscribe(SessionChanged, seen.append)
    service = make_service()
    info = await service.touch(ALICE, GUILD, "alice", channel_id=55, now=T0)
    assert info.delete_at == T0 + timedelta(minutes=30)
    assert info.warn_at == T0 + timedelta(minutes=25)
    assert info.channel_id == 55 and not info.warned
    stored = await service.get(ALICE, GUILD)
    assert stored == info and stored.delete_at.tzinfo is not None
    assert (await service.get_by_channel(55)).user_id == ALICE
    assert [(e.action, e.user_id) for e in seen] == [("touched", ALICE)]


async def test_touch_again_moves_the_deadline_and_keeps_the_channel(make_service):
    service = make_service()
    await service.touch(ALICE, GUILD, "alice", channel_id=55, now=T0)
    info = await service.touch(ALICE, GUILD, "alice", now=T0 + timedelta(minutes=10))
    assert info.channel_id == 55
    assert info.delete_at == T0 + timedelta(minutes=40)


async def test_warning_window_then_deletion(make_service):
    service = make_service()
    await service.touch(ALICE, GUILD, "alice", channel_id=55, now=T0)
    await service.touch(BOB, GUILD, "bob", channel_id=66, now=T0 + timedelta(minutes=10))
    assert await service.due_warnings(now=T0 + timedelta(minutes=24)) == []
    due = await service.due_warnings(now=T0 + timedelta(minutes=25))
    assert [s.user_id for s in due] == [ALICE]
    await service.mark_warned(ALICE, GUILD, 777)
    assert await service.due_warnings(now=T0 + timedelta(minutes=26)) == []
    assert (await service.get(ALICE, GUILD)).warning_message_id == 777
    assert await service.due_deletions(now=T0 + timedelta(minutes=29)) == []
    assert [s.user_id for s in await service.due_deletions(now=T0 + timedelta(minutes=30))] == [ALICE]
    assert await service.next_deadline() == T0 + timedelta(minutes=30)


async def test_keep_gives_a_fresh_period_and_clears_the_warning(make_service):
    service = make_service()
    await service.touch(ALICE, GUILD, "alice", channel_id=55, now=T0)
    await service.mark_warned(ALICE, GUILD, 777)
    info = await service.keep(ALICE, GUILD, now=T0 + timedelta(minutes=27))
    assert info.delete_at == T0 + timedelta(minutes=57) and not info.warned and info.warning_message_id is None
    assert await service.keep(BOB, GUILD) is None


async def test_close_expire_set_channel_and_list(make_service, bus):
    seen = []
    bus.subscribe(SessionChanged, seen.append)
    service = make_service()
    await service.touch(ALICE, GUILD, "alice", channel_id=55, now=T0)
    await service.touch(BOB, GUILD + 1, "bob", now=T0 - timedelta(minutes=5))
    assert [s.user_id for s in await service.list()] == [BOB, ALICE]
    assert [s.user_id for s in await service.list(GUILD)] == [ALICE]
    await service.set_channel(ALICE, GUILD, None)
    assert (await service.get(ALICE, GUILD)).channel_id is None
    await service.expire(ALICE, GUILD, now=T0 + timedelta(minutes=1))
    assert [s.user_id for s in await service.due_deletions(now=T0 + timedelta(minutes=1))] == [ALICE]
    closed = await service.close(ALICE, GUILD)
    assert closed.user_id == ALICE and await service.get(ALICE, GUILD) is None
    assert await service.close(ALICE, GUILD) is None
    assert [e.action for e in seen if e.user_id == ALICE] == ["touched", "channel", "expired", "closed"]
    assert seen[-1].session is None


async def test_deadline_survives_a_new_service_on_the_same_database(make_service):
    first = make_service()
    await first.touch(ALICE, GUILD, "alice", channel_id=55, now=T0)
    second = make_service()
    assert (await second.get(ALICE, GUILD)).delete_at == T0 + timedelta(minutes=30)


async def test_settings_set_the_periods(make_service):
    service = make_service(session_idle_minutes=10, session_warning_minutes=2)
    info = await service.touch(ALICE, GUILD, "alice", now=T0)
    assert info.delete_at == T0 + timedelta(minutes=10) and info.warn_at == T0 + timedelta(minutes=8)
    # A warning longer than the idle time never puts the warning before the session started.
    odd = make_service(session_idle_minutes=3, session_warning_minutes=10)
    info = await odd.touch(BOB, GUILD, "bob", now=T0)
    assert info.warn_at == T0


async def test_default_clock_is_used_without_now(make_service):
    service = make_service()
    info = await service.touch(ALICE, GUILD, "a" * 300)
    assert info.last_activity == T0 and len(info.user_name) == 100
