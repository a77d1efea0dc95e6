"""The Sessions tab over the real SessionService (SQLite): rows come from the service and follow
its events; Close now and Keep act on the selected session."""
import asyncio
from datetime import timedelta

from core.events import EventBus
from core.sessions import SessionService
from core.settings import Settings
from core.store import Database
from gui.bridge import CoreBridge
from gui.tabs.sessions_tab import SessionsTab
from tests.gui.conftest import until

GUILD = 123456789012345678


async def test_close_now_and_keep_act_on_the_selected_session(app_paths, tmp_path, confirmations):
    db = await Database.open(None, tmp_path)
    bus = EventBus()
    service = SessionService(db=db, bus=bus, settings=Settings(paths=app_paths))
    bridge = CoreBridge(bus)
    tab = SessionsTab(service, bridge, tick_ms=0)
    try:
        await service.touch(7, GUILD, "alice", channel_id=555)
        await until(lambda: tab.model.rowCount() == 1)   # the SessionChanged event reloads the tab
        assert tab.model.row_at(0).user == "alice"
        assert tab.model.row_at(0).channel == "#555"

        tab.table.selectRow(0)
        confirmations.answer = False               # "Close the session of alice?" — No
        tab.close_selected()
        await asyncio.sleep(0.05)
        assert await service.due_deletions() == []
        confirmations.answer = True
        tab.table.selectRow(0)                     # (a late reload may have reset the selection)
        tab.close_selected()
        assert confirmations[-1][0] == "Close the session of alice?" and "#555" in confirmations[-1][1]
        await until(lambda: tab.model.row_at(0) and tab.model.row_at(0).deletes_at <= service.now())
        assert [s.user_id for s in await service.due_deletions()] == [7]

        tab.table.selectRow(0)
        tab.keep_selected()
        await until(lambda: tab.model.row_at(0) and tab.model.row_at(0).deletes_at > service.now() + timedelta(minutes=25))
        assert await service.due_deletions() == []
    finally:
        bridge.close()
        await bus.close()
        await db.close()


async def test_close_now_without_a_selection_says_what_to_do(app_paths, tmp_path):
    db = await Database.open(None, tmp_path)
    bus = EventBus()
    tab = SessionsTab(SessionService(db=db, bus=bus, settings=Settings(paths=app_paths)), CoreBridge(bus), tick_ms=0)
    tab.close_selected()
    assert "Select a session first" in tab.notice.text()
    await db.close()
