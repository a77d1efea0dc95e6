"""The tray after a restart with a paused queue (real JobService, as main.py wires it: the tray is
built before the queue has started): it says paused, lists the waiting jobs, and resumes."""
from __future__ import annotations

import asyncio

from core.paths import resource_root
from core.settings import Settings
from core.store import Database
from gui.app import TrayApp
from gui.services import GuiServices
from tests.gui.conftest import until


async def test_a_queue_paused_before_a_restart_shows_paused_with_its_jobs(qtbot, app_paths, core_bus,
                                                                        make_job_service, job_request):
    db = await Database.open(None, app_paths.data_dir)
    try:
        first = await make_job_service(db=db)
        await first.pause()
        ids = [(await first.submit(job_request(user_id=n, prompt=f"fox {n}"))).job.id for n in (1, 2)]
        await first.stop()

        second = await make_job_service(db=db, start=False)
        settings = Settings(paths=app_paths, workflows_dir=str(resource_root() / "flujos"),
                            allowed_guild_ids=(1,), discord_token="t" * 10)
        app = TrayApp(GuiServices(settings=settings, paths=app_paths, bus=core_bus, job_service=second),
                      asyncio.Event(), tick_ms=0)
        qtbot.addWidget(app.dashboard)
        queue = app.dashboard.queue_tab.model
        assert not app.status.snapshot.paused and queue.rowCount() == 0     # built before the queue started
        await second.start()
        await until(lambda: app.status.snapshot.paused and queue.rowCount() == 2)
        assert [queue.job_at(r).id for r in range(2)] == ids and app.status.snapshot.waiting == 2
        assert app.actions.pause_queue.text() == "Resume queue"
        app.actions.pause_queue.trigger()
        await until(lambda: not app.status.snapshot.paused and queue.rowCount() == 0, timeout=20)
        await app.close()
    finally:
        await second.stop()
        await db.close()
