"""Home: what the dashboard opens on tells the bot's, ComfyUI's and the queue's truth, with the fix."""
from __future__ import annotations

import asyncio
from dataclasses import replace

from PIL import Image

from core.jobs import BackendHealthChanged
from core.status import BotStateChanged
from gui.app import TrayApp
from gui.services import read_system_stats
from tests.gui.conftest import until
from tests.gui.fakes import FakeBot, make_request

TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GhIjKl.abcdefghijklmnopqrstuvwxyz0123456789AB"   # id 123456789012345678


def build(qtbot, services) -> TrayApp:
    app = TrayApp(services, asyncio.Event(), tick_ms=0)
    qtbot.addWidget(app.dashboard)
    app.dashboard.open(home=True)
    return app





async def test_home_says_who_the_bot_is_and_what_comfyui_runs(qtbot, gui_services, fake_comfy, not_comfy):
    gui_services.settings = replace(gui_services.settings, discord_token=TOKEN,
                                    comfy_urls=(fake_comfy.url, not_comfy, "http://127.0.0.1:9"))
    gui_services.comfy_stats = read_system_stats
    gui_services.bot = FakeBot(connected=False)
    app = build(qtbot, gui_services)
    home = app.dashboard.home_tab
    assert app.dashboard.tabs.currentWidget() is home
    assert home.bot_state.text() == "connecting…"
    gui_services.bus.publish(BotStateChanged(True, "Connected to Discord as FuLLetLabs Bot#0001"))
    assert home.bot_state.text() == "✓ Connected as FuLLetLabs Bot#0001"
    assert home.bot_servers.text() == "123456789012345678"
    assert not home.bot_button.isVisible()

    await until(lambda: "ComfyUI 0.3.64" in home.comfy_details.text())
    lines = home.comfy_details.text().splitlines()
    assert lines[0].startswith(f"{fake_comfy.url} — ComfyUI 0.3.64 · ") and "GB free" in lines[0]
    assert "VRAM" in lines[0] and " of " in lines[0]
    assert "cuda:0" not in lines[0] and "cudaMallocAsync" not in lines[0]       # the GPU's own name
    assert lines[1] == f"{not_comfy} — this port answers, but it is not ComfyUI: check the address (ComfyUI " \
                       "Desktop uses port 8000, the portable ComfyUI 8188)."
    assert lines[2].startswith("http://127.0.0.1:9 — not answering: start ComfyUI")
    assert "ClientConnectorError" not in home.comfy_details.text()        # human words, no library names
    assert home.copy_invite.isEnabled()
    assert "client_id=123456789012345678" in home._invite()
    await app.close()


async def test_home_shows_the_fix_when_the_bot_is_not_set_up_or_rejected(qtbot, gui_services):
    gui_services.settings = replace(gui_services.settings, discord_token=None, allowed_guild_ids=())
    app = build(qtbot, gui_services)
    home = app.dashboard.home_tab
    assert home.bot_state.text() == "⚠ not set up"
    assert home.bot_button.text() == "Set up the bot…" and home.bot_button.isVisible()
    assert not home.copy_invite.isEnabled() and "needs the bot token" in home.invite_link.text()
    home.bot_button.click()
    assert app.wizard is not None and app.wizard.isVisible()
    app.wizard.reject()
    assert app.dashboard.tabs.currentWidget() is home
    gui_services.settings = replace(gui_services.settings, discord_token=TOKEN, allowed_guild_ids=(1,) * 1)
    app.status.on_settings(gui_services.settings)
    gui_services.bus.publish(BotStateChanged(False, "Discord rejected the bot token", token_rejected=True))
    assert home.bot_state.text() == "⚠ token rejected"
    assert "Reset Token" in home.bot_fix.text() and home.bot_button.text() == "Enter a new token…"
    await app.close()


async def test_a_paused_queue_says_so_and_resumes_in_one_click(qtbot, gui_services):
    service = gui_services.job_service
    await service.pause()
    app = build(qtbot, gui_services)
    home = app.dashboard.home_tab
    assert home.resume_button.isVisible()
    assert "paused" in home.queue_paused.text()
    await service.submit(make_request(1))
    assert home.queue_counts.text() == "paused: 1 waiting, 0 running"
    assert app.actions.pause_queue.text() == "Resume queue"
    home.resume_button.click()
    await until(lambda: not app.status.snapshot.paused)
    assert service.calls[-1] == ("resume",)
    assert not home.resume_button.isVisible()
    await app.close()


async def test_the_test_run_uses_a_text_to_image_workflow_and_its_image_shows_today(qtbot, gui_services, tmp_path):
    service = gui_services.job_service
    app = build(qtbot, gui_services)
    home = app.dashboard.home_tab
    assert home.images.rowCount() == 0 and "No images yet today" in home.images_empty.text()
    await home.test_run()
    request = service.calls[-1][1]
    assert request.workflow == "flux_schnell" and request.source == "tray"      # an imagine workflow
    assert "position 1" in home.test_status.text()
    job = service.start_next()
    image = tmp_path / "result.png"
    Image.new("RGB", (64, 48), "teal").save(image)
    service.finish(job.id, (image,))
    assert home.images.rowCount() == 1 and not home.images_empty.isVisible()
    assert "is ready" in home.test_status.text()
    await app.close()


async def test_attach_mode_watches_comfyui_one_notification_and_the_banner_goes_when_it_is_back(qtbot, gui_services):
    app = build(qtbot, gui_services)
    assert app.status.watch_backends                      # no supervisor: the backends' health is the truth
    notices = []
    app.tray.fallback_notice.connect(lambda *args: notices.append(args))
    url = "http://127.0.0.1:8188"
    await gui_services.job_service.submit(make_request(1))
    gui_services.bus.publish(BackendHealthChanged(url, False, "connection refused"))
    gui_services.bus.publish(BackendHealthChanged(url, False, "connection refused"))
    assert len(notices) == 1 and notices[0][0] == "ComfyUI is not answering"
    assert app.status.snapshot.comfy == "waiting"
    assert "ComfyUI is not answering" in app.dashboard.notice.text()
    assert "1 waiting for ComfyUI" in app.dashboard.status_label.text()
    assert app.tray._shown_level[0] == "down"
    gui_services.bus.publish(BackendHealthChanged(url, True, "answering again"))
    assert app.status.snapshot.comfy == "up"
    assert app.dashboard.notice.isHidden()               # no "ComfyUI stopped" beside "ComfyUI: up"
    assert "ComfyUI: up" in app.dashboard.status_label.text()
    await app.close()
