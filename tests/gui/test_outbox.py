"""The tray's side of the outbox, on the real JobService (SQLite + the fake ComfyUI): a test run
counts as delivered once a tab showed its result; one that ended while the app was closed is told
once at the next start."""
from __future__ import annotations

import asyncio

import pytest

from core.jobs import JobState
from core.settings import Settings
from gui.app import TrayApp
from gui.services import GuiServices
from tests.gui.conftest import until


@pytest.fixture
def tray_apps(qtbot, app_paths, core_bus, job_service, comfy_client):
    """Builds tray apps as main.py wires them (each closed by the test) and records their notices."""
    from core.paths import resource_root
    settings = Settings(paths=app_paths, workflows_dir=str(resource_root() / "flujos"),
                        allowed_guild_ids=(1,), discord_token="t" * 10)

    def make() -> tuple[TrayApp, list[tuple]]:
        services = GuiServices(settings=settings, paths=app_paths, bus=core_bus, job_service=job_service,
                               comfy_client=comfy_client)
        app = TrayApp(services, asyncio.Event(), tick_ms=0)
        qtbot.addWidget(app.dashboard)
        notices: list[tuple] = []
        app.tray.fallback_notice.connect(lambda *notice: notices.append(notice))
        return app, notices
    return make


async def ended(job_service, job_id: int):
    for _ in range(2000):
        job = await job_service.get(job_id)
        if job.state.is_final:
            return job
        await asyncio.sleep(0.01)
    raise AssertionError(f"job {job_id} did not end")


async def delivered(job_service, job_id: int):
    for _ in range(500):
        job = await job_service.get(job_id)
        if job.delivered_at is not None:
            return job
        await asyncio.sleep(0.01)
    raise AssertionError(f"job {job_id} was not marked delivered")


async def test_a_test_run_shown_in_the_workflows_tab_is_delivered(tray_apps, job_service):
    app, notices = tray_apps()
    app.start()
    tab = app.dashboard.workflows_tab
    tab.list.setCurrentRow(next(row for row in range(tab.list.count())
                                if tab.list.item(row).text().startswith("Z-Image Turbo")))
    tab.test_prompt.setText("a tray test")

    await tab.test_run()
    job_id = tab.test_job_id
    await until(lambda: "Done in" in tab.test_status.text(), timeout=20)

    job = await delivered(job_service, job_id)
    assert job.request.source == "tray" and job.state is JobState.DONE
    assert await job_service.undelivered("tray") == [] and notices == []   # nothing was left to tell
    await app.close()


async def test_a_test_run_shown_on_home_is_delivered(tray_apps, job_service):
    app, _ = tray_apps()
    app.start()
    home = app.dashboard.home_tab

    await home.test_run()
    job_id = home._test_job
    await until(lambda: "is ready" in home.test_status.text(), timeout=20)

    await delivered(job_service, job_id)
    await app.close()


async def test_test_runs_that_ended_while_the_app_was_closed_are_told_once(tray_apps, job_service, job_request):
    test_run = (await job_service.submit(job_request(source="tray", user_id=0, is_admin=True))).job.id
    discord_job = (await job_service.submit(job_request(prompt="a fox for discord"))).job.id
    assert (await ended(job_service, test_run)).delivered_at is None
    await ended(job_service, discord_job)

    app, notices = tray_apps()
    app.start()
    await until(lambda: notices)

    [(title, text, is_error, _key)] = notices
    assert title == "A test run ended while the app was closed" and not is_error
    assert f"#{test_run} z_image_turbo: done" in text and "History" in text
    await delivered(job_service, test_run)
    assert [job.id for job in await job_service.undelivered()] == [discord_job]   # the bot's to tell
    await app.close()

    again, notices_again = tray_apps()
    again.start()
    await again.outbox.delivering
    assert notices_again == []
    await again.close()
