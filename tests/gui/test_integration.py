"""The tray app on the real JobService (SQLite + the fake ComfyUI), as main.py wires it."""
from __future__ import annotations

import asyncio

from core.settings import Settings
from gui.app import TrayApp
from gui.models.history_model import PathRole
from gui.services import GuiServices
from tests.gui.conftest import until


async def test_jobs_flow_through_queue_and_history(qtbot, app_paths, core_bus, job_service, job_request,
                                                   fake_comfy, comfy_client):
    from core.paths import resource_root
    settings = Settings(paths=app_paths, workflows_dir=str(resource_root() / "flujos"),
                        allowed_guild_ids=(1,), discord_token="t" * 10)
    services = GuiServices(settings=settings, paths=app_paths, bus=core_bus, job_service=job_service,
                           comfy_client=comfy_client)
    app = TrayApp(services, asyncio.Event(), tick_ms=0)
    qtbot.addWidget(app.dashboard)
    queue = app.dashboard.queue_tab.model
    history = app.dashboard.history_tab.model
    seen_rows = []
    queue.rowsInserted.connect(lambda *a: seen_rows.append(queue.rowCount()))

    await job_service.pause()
    await until(lambda: app.status.snapshot.paused)
    accepted = [await job_service.submit(job_request(user_id=n, user_name=f"user{n}", prompt=f"fox {n}"))
                for n in range(1, 4)]
    await until(lambda: queue.rowCount() == 3)
    assert [queue.job_at(r).id for r in range(3)] == [a.job.id for a in accepted]
    await until(lambda: app.status.snapshot.waiting == 3)          # from the core's coalesced QueueSnapshot

    await job_service.resume()
    await until(lambda: queue.rowCount() == 0 and history.rowCount() == 3, timeout=20)
    await until(lambda: app.status.snapshot.jobs == 0)
    newest = history.index(0).data(PathRole)
    assert newest and newest.endswith(".png")

    # Test run from the Workflows tab: through JobService with source="tray", the image shown here
    tab = app.dashboard.workflows_tab
    for row in range(tab.list.count()):
        if tab.list.item(row).text().startswith("Z-Image Turbo"):
            tab.list.setCurrentRow(row)
            break
    tab.test_prompt.setText("a tray test")
    await tab.test_run()
    await until(lambda: "Done in" in tab.test_status.text(), timeout=20)
    assert not tab.test_image.pixmap().isNull()
    await tab.validate_now()
    assert tab.problem_list.count() >= 1
    await app.close()
