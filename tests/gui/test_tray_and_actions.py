from __future__ import annotations

import asyncio
import os
import signal
import sys

from dataclasses import replace

import pytest
from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QApplication, QSystemTrayIcon

from comfy.supervisor import ComfyStateChanged, SupervisorState
from core.autostart import Autostart
from core.jobs import JobState
from gui.app import TrayApp
from gui.status import StatusSnapshot
from tests.gui.conftest import until
from tests.gui.fakes import FakeBot, make_request


def build(qtbot, services, **kwargs) -> TrayApp:
    app = TrayApp(services, asyncio.Event(), tick_ms=0, **kwargs)
    qtbot.addWidget(app.dashboard)
    return app


def test_status_levels_and_tooltip():
    assert StatusSnapshot(bot="connected", comfy="up").level == "ok"
    assert StatusSnapshot(bot="connected", comfy="up", running=1).level == "busy"
    assert StatusSnapshot(bot="connected", comfy="starting").level == "warn"
    assert StatusSnapshot(bot="connected", comfy="up", paused=True).level == "warn"
    assert StatusSnapshot(bot="rejected", comfy="up").level == "down"
    assert StatusSnapshot(bot="connected", comfy="failed").level == "down"
    assert StatusSnapshot(bot="stopped", comfy="stopped").level == "off"
    tip = StatusSnapshot(bot="connected", comfy="up", waiting=3, running=1, paused=True).tooltip()
    assert "Bot: connected" in tip and "ComfyUI: up" in tip and "Queue: paused: 3 waiting, 1 running" in tip


async def test_queue_actions_call_the_service(qtbot, gui_services, confirmations):
    app = build(qtbot, gui_services)
    service = gui_services.job_service
    for n in range(3):
        await service.submit(make_request(n))
    tab = app.dashboard.queue_tab
    assert tab.model.rowCount() == 3
    assert app.status.snapshot.waiting == 3

    tab.select_job(3)
    tab.move_selected(-1)
    await until(lambda: ("move", 3, -1) in service.calls)
    await until(lambda: tab.model.job_at(1).id == 3)
    assert tab.selected_job_id() == 3                 # the selection follows the job

    tab.priority_box.setCurrentIndex(0)               # admin
    tab.prioritise_selected()
    await until(lambda: ("set_priority", 3, 0) in service.calls)
    await until(lambda: tab.model.job_at(0).id == 3)

    tab.select_job(2)
    confirmations.answer = False                      # "Cancel job #2?" — No: nothing happens
    tab.cancel_selected()
    await asyncio.sleep(0.05)
    assert ("cancel", 2) not in service.calls and tab.model.rowCount() == 3
    assert confirmations[-1] == ("Cancel job #2?", "The job of user1 is cancelled and they are told so. "
                                                   "This cannot be undone.")
    confirmations.answer = True
    tab.cancel_selected()
    await until(lambda: tab.model.rowCount() == 2)
    assert ("cancel", 2) in service.calls

    tab.pause_button.click()
    await until(lambda: app.status.snapshot.paused)
    assert app.actions.pause_queue.text() == "Resume queue"
    assert "Resume queue" in tab.pause_button.text()
    app.actions.pause_queue.trigger()
    await until(lambda: not app.status.snapshot.paused)
    assert service.calls[-1] == ("resume",)
    await app.close()


async def test_a_refused_action_is_shown_and_nothing_breaks(qtbot, gui_services):
    app = build(qtbot, gui_services)
    service = gui_services.job_service
    await service.submit(make_request(1))
    tab = app.dashboard.queue_tab
    tab.select_job(1)
    service._jobs[1].state = JobState.DONE            # it finished meanwhile: the service refuses
    tab.cancel_selected()
    await until(lambda: "failed" in tab.notice.label.text())
    assert "not in the queue" in tab.notice.label.text()
    await app.close()


async def test_tray_icon_follows_bot_comfy_and_queue(qtbot, gui_services):
    gui_services.bot = FakeBot(connected=True)
    app = build(qtbot, gui_services)
    assert app.status.snapshot.bot == "connected"
    gui_services.bus.publish(ComfyStateChanged(SupervisorState.UP, "http://127.0.0.1:8188", "up", False, 0))
    assert app.tray.icon.toolTip().splitlines()[1:3] == ["Bot: connected", "ComfyUI: up"]
    assert app.tray._shown_level == ("ok", 0)
    await gui_services.job_service.submit(make_request(1))
    gui_services.job_service.start_next()
    assert app.tray._shown_level == ("busy", 1)
    notices = []
    app.tray.fallback_notice.connect(lambda *args: notices.append(args))
    gui_services.bus.publish(ComfyStateChanged(SupervisorState.RESTARTING, "http://127.0.0.1:8188",
                                               "ComfyUI exited with code -9; restarting", True, 1))
    assert app.tray._shown_level[0] == "warn"
    assert notices and notices[0][0] == "ComfyUI crashed — restarting" and "code -9" in notices[0][1]
    assert "ComfyUI crashed" in app.dashboard.notice.label.text()
    await app.close()


async def test_rejected_bot_token_is_a_notification(qtbot, gui_services):
    gui_services.bot = FakeBot(connected=False, fail_with="Discord rejected the bot token.", bus=gui_services.bus)
    app = build(qtbot, gui_services)
    assert app.status.snapshot.bot == "connecting"      # main.py starts a configured bot at once
    assert app.actions.toggle_bot.text() == "Stop bot"
    await app.actions._stop_bot()
    assert app.actions.toggle_bot.text() == "Start bot"
    app.actions.toggle_bot.trigger()
    await until(lambda: app.status.snapshot.bot == "rejected")
    assert "Discord rejected the bot token" in app.dashboard.notice.label.text()
    assert app.tray._shown_level[0] == "down"
    gui_services.bot.fail_with = None
    app.actions.toggle_bot.trigger()
    await until(lambda: app.status.snapshot.bot == "connected")
    assert app.actions.toggle_bot.text() == "Stop bot"
    await app.close()


async def test_without_a_tray_the_dashboard_is_the_window(qtbot, gui_services):
    app = build(qtbot, gui_services, force_no_tray=True)
    app.start()
    assert app.dashboard.isVisible()
    assert "No system tray" in app.dashboard.notice.label.text()
    app.dashboard.close()                  # closing the only window is Quit: the shutdown event
    assert app.shutdown.is_set()
    await app.close()


async def test_quit_sets_the_shutdown_event(qtbot, gui_services):
    app = build(qtbot, gui_services)
    app.start()
    assert not app.shutdown.is_set()
    assert [a.text() for a in app.tray.menu.actions() if a.text() and a.isVisible()] == [
        "Open dashboard", "Pause queue", "Start bot", "Start ComfyUI", "Settings…", "Quit"]
    app.actions.quit.trigger()
    assert app.shutdown.is_set()
    await app.close()


async def test_first_run_opens_the_wizard_and_then_the_dashboard(qtbot, gui_services):
    gui_services.settings = replace(gui_services.settings, discord_token=None, allowed_guild_ids=())
    app = build(qtbot, gui_services)
    app.start()
    assert app.wizard is not None and app.wizard.isVisible()
    assert app.status.snapshot.level == "off"                     # grey: nothing works yet
    assert "Not set up" in app.tray.icon.toolTip()
    assert app.actions.settings.text() == "Set up the bot…"
    assert not app.actions.toggle_bot.isEnabled()
    app.wizard.reject()                                           # Cancel
    assert app.dashboard.isVisible()                              # never a tray icon alone
    await app.close()


async def test_the_wizard_comes_back_only_while_nothing_is_configured(qtbot, gui_services):
    gui_services.settings = replace(gui_services.settings, discord_token=None)   # a server, no token
    app = build(qtbot, gui_services)
    app.start()
    assert app.wizard is None                                     # the dashboard says what is missing
    await app.close()


async def test_an_unreachable_discord_is_said_as_such(qtbot, gui_services):
    from core.status import BotStateChanged

    gui_services.bot = FakeBot(connected=False)
    app = build(qtbot, gui_services)
    notices = []
    app.tray.fallback_notice.connect(lambda *args: notices.append(args))
    message = "Cannot reach Discord: check the internet connection; retrying"
    gui_services.bus.publish(BotStateChanged(False, message, unreachable=True))
    assert app.status.snapshot.bot == "unreachable"
    assert "Bot: Discord unreachable" in app.tray.icon.toolTip()
    assert "Bot: Discord unreachable" in app.dashboard.status_label.text()
    assert app.tray._shown_level[0] == "down"
    assert notices == [("Discord cannot be reached", "Check the internet connection; the bot keeps trying by itself.",
                        True, "bot")]
    gui_services.bus.publish(BotStateChanged(False, message, unreachable=True))   # said once, not at every retry
    assert len(notices) == 1
    gui_services.bus.publish(BotStateChanged(True, "Connected to Discord as imagebot"))
    assert app.status.snapshot.bot == "connected"
    await app.close()


@pytest.fixture
def no_app_quit(monkeypatch):
    """QApplication.quit() under qasync stops the loop under main()'s pending coroutine: it must never run.
    (exit() stays: qasync's own loop.stop() uses it.)"""
    calls = []
    monkeypatch.setattr(QApplication, "quit", lambda *args: calls.append(args))
    monkeypatch.setattr(QCoreApplication, "quit", lambda *args: calls.append(args))
    return calls


async def test_with_a_tray_closing_the_dashboard_only_hides_it(qtbot, gui_services, monkeypatch, no_app_quit):
    monkeypatch.setattr("gui.tray.tray_available", lambda: True)
    app = build(qtbot, gui_services)
    app.start()
    assert app.tray.available and not app.dashboard.isVisible()     # the tray icon is the app
    app.actions.open_dashboard.trigger()
    assert app.dashboard.isVisible()
    assert app.dashboard.close() is False                            # the close is refused: hidden instead
    assert not app.dashboard.isVisible()
    assert not app.shutdown.is_set() and not no_app_quit
    app.tray.icon.activated.emit(QSystemTrayIcon.ActivationReason.Trigger)   # a click on the icon
    assert app.dashboard.isVisible()
    await app.close()
    assert not no_app_quit


async def test_without_a_tray_closing_the_dashboard_quits_through_the_event(qtbot, gui_services, no_app_quit):
    app = build(qtbot, gui_services, force_no_tray=True)
    app.start()
    assert app.dashboard.isVisible()
    assert app.dashboard.close() is True
    assert app.shutdown.is_set() and not no_app_quit
    await app.close()
    assert not no_app_quit


@pytest.mark.skipif(sys.platform == "win32", reason="no SIGTERM on Windows: os.kill(SIGTERM) is TerminateProcess "
                                                  "and would end pytest itself")
@pytest.mark.parametrize("has_tray", [True, False], ids=["tray", "no-tray"])
async def test_sigterm_ends_the_tray_app_through_the_shutdown_event(gui_services, monkeypatch, no_app_quit, has_tray):
    from gui.app import run_tray_app
    from main import stop_on_signals

    monkeypatch.setattr("gui.tray.tray_available", lambda: has_tray)
    loop = asyncio.get_running_loop()
    shutdown = asyncio.Event()
    stop_on_signals(shutdown)
    try:
        ready = asyncio.Event()
        running = asyncio.create_task(run_tray_app(gui_services, shutdown, ready=ready))
        await asyncio.wait_for(ready.wait(), 5)
        os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.wait_for(running, 5)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    assert shutdown.is_set() and not no_app_quit
    assert not [w for w in QApplication.topLevelWidgets() if w.isVisible()]


async def test_start_at_login_is_the_os_login_entry(qtbot, gui_services, tmp_path):
    gui_services.autostart = Autostart(["/opt/FuLLetLabsImageBot/FuLLetLabsImageBot"], platform="linux",
                                       xdg_config_home=tmp_path)
    entry = tmp_path / "autostart" / "FuLLetLabsImageBot.desktop"
    app = build(qtbot, gui_services)
    action = app.actions.start_at_login
    assert action in app.tray.menu.actions() and action.isVisible() and not action.isChecked()

    action.trigger()
    assert action.isChecked() and entry.is_file()

    action.trigger()
    assert not action.isChecked() and not entry.exists()


async def test_start_at_login_that_fails_says_why_and_stays_unticked(qtbot, gui_services, tmp_path):
    (tmp_path / "autostart").write_text("a file where the folder should be", encoding="utf-8")
    gui_services.autostart = Autostart(["/opt/bot"], platform="linux", xdg_config_home=tmp_path)
    app = build(qtbot, gui_services)
    notices = []
    app.tray.fallback_notice.connect(lambda *args: notices.append(args))

    app.actions.start_at_login.trigger()

    assert not app.actions.start_at_login.isChecked()
    assert notices and notices[0][0] == "Could not change starting at login" and notices[0][2]
    assert "FuLLetLabsImageBot.desktop" in notices[0][1]


async def test_no_start_at_login_entry_without_an_autostart_service(qtbot, gui_services):
    app = build(qtbot, gui_services)
    assert not app.actions.start_at_login.isVisible()


async def test_a_token_refused_at_start_up_is_a_notification(qtbot, gui_services):
    from core.status import BotStateChanged

    app = build(qtbot, gui_services)
    gui_services.bus.publish(BotStateChanged(False, "Discord rejected the bot token.", token_rejected=True))
    assert app.status.snapshot.bot == "rejected"
    assert "Discord rejected the bot token" in app.dashboard.notice.label.text()
    gui_services.bus.publish(BotStateChanged(False, "Disconnected from Discord; reconnecting"))
    assert app.status.snapshot.bot == "disconnected"
    await app.close()


async def test_i_need_my_gpu_from_the_tray_holds_the_queue_and_share_resumes_it(qtbot, gui_services):
    from datetime import datetime, timezone

    from core.gpu_mode import HostGpu

    class Backend:               # ComfyUI answering /free, or refusing it
        base_url = "http://127.0.0.1:8188"
        refuse = False

        async def free(self, unload_models=True, free_memory=True):
            if self.refuse:
                from comfy.errors import ComfyHTTPError
                raise ComfyHTTPError("POST /free answered HTTP 500", 500, "")

    backend = Backend()
    service = gui_services.job_service
    service.hold = lambda held: service.pause() if held else service.resume()
    gui_services.host_gpu = HostGpu(queue=service, backends=lambda: [backend], publish=gui_services.bus.publish,
                                    clock=lambda: datetime.now(timezone.utc))
    app = build(qtbot, gui_services)
    notices = []
    app.actions.notice.connect(lambda *args: notices.append(args))
    assert app.actions.host_gpu in app.tray.menu.actions() and app.actions.host_gpu.text() == "I need my GPU"
    app.actions.host_gpu.trigger()
    await until(lambda: app.actions.host_gpu.text() == "Share my GPU again")
    assert service.paused and app.status.snapshot.paused and not notices
    assert not app.actions.pause_queue.isEnabled()        # "Resume queue" would end the host's hold
    app.actions.host_gpu.trigger()
    await until(lambda: app.actions.host_gpu.text() == "I need my GPU")
    assert not service.paused and app.actions.pause_queue.isEnabled()
    backend.refuse = True
    app.actions.host_gpu.trigger()
    await until(lambda: notices)
    title, text, is_error = notices[0]
    assert service.paused and is_error and title == "The GPU memory was not freed"
    assert text.startswith("The queue holds, but ComfyUI at http://127.0.0.1:8188 kept its memory")
    await app.close()


async def test_the_tray_renders_the_queue_snapshot_and_the_database_health(qtbot, gui_services):
    from core.status import StoreHealthChanged

    service = gui_services.job_service
    for n in range(3):
        await service.submit(make_request(n))
    await service.pause()                      # as a queue paused before a restart comes back
    app = build(qtbot, gui_services)
    assert (app.status.snapshot.waiting, app.status.snapshot.paused) == (3, True)
    assert app.actions.pause_queue.text() == "Resume queue"
    await service.resume()
    job = service.start_next()
    service._jobs[service._waiting()[0]].state = JobState.SUBMITTED   # the next one already sent to ComfyUI
    service.set_health()
    assert (app.status.snapshot.waiting, app.status.snapshot.running, app.status.snapshot.pending) == (1, 1, 1)
    assert "1 waiting, 1 running, 1 next in ComfyUI" in app.tray.icon.toolTip()

    notices = []
    app.tray.fallback_notice.connect(lambda *args: notices.append(args))
    gui_services.bus.publish(StoreHealthChanged(False, "connection refused by 127.0.0.1:5432"))
    assert app.status.snapshot.level == "down"
    assert app.dashboard.status_label.text().startswith("Database unreachable")
    assert notices[-1][0] == "Database unreachable" and "5432" in notices[-1][1]
    gui_services.bus.publish(StoreHealthChanged(True))
    assert app.dashboard.notice.isHidden() and not app.dashboard.status_label.text().startswith("Database")

    service.set_health(backend=False)          # attach mode: the snapshot's backend health is the truth
    assert app.status.snapshot.comfy == "waiting" and notices[-1][0] == "ComfyUI is not answering"
    service.set_health(backend=True)
    assert app.status.snapshot.comfy == "up" and app.dashboard.notice.isHidden()
    assert job.id in service.snapshot().running
    await app.close()


async def test_a_window_shows_before_the_keyring_and_goes_when_the_app_is_up(qtbot, gui_services, monkeypatch):
    from gui.app import run_tray_app, starting_window

    monkeypatch.setattr("gui.tray.tray_available", lambda: True)
    starting = starting_window()                   # main.py shows it before reading the keyring
    qtbot.addWidget(starting)
    assert starting.isVisible() and "starting" in starting.text()
    shutdown, ready = asyncio.Event(), asyncio.Event()
    running = asyncio.create_task(run_tray_app(gui_services, shutdown, ready=ready, starting=starting))
    await asyncio.wait_for(ready.wait(), 5)
    assert not starting.isVisible()
    shutdown.set()
    await asyncio.wait_for(running, 5)


async def test_a_dashboard_opened_mid_job_says_which_job_runs(qtbot, gui_services):
    service = gui_services.job_service
    await service.submit(make_request(1, user="mira"))
    service.start_next()
    app = build(qtbot, gui_services)
    tab = app.dashboard.queue_tab
    assert tab.preview.text() == "Generating…" and tab.preview_caption.text().startswith("#1 · mira:")
    await app.close()
