"""Entry point of the tray app, called by main.py on the qasync loop.

    from gui.app import create_application, run_tray_app
    app = create_application(sys.argv)          # before the loop: QApplication set up for a tray app
    async def amain():
        services = GuiServices(settings=..., paths=..., bus=..., job_service=..., log_ring=...,
                               session_service=..., supervisor=..., bot=..., comfy_client=...,
                               secrets=..., token_checker=..., comfy_probe=...)
        shutdown = asyncio.Event()
        await run_tray_app(services, shutdown)  # returns after tray Quit (or shutdown.set() elsewhere)
        ... stop bot, job service, supervisor, close the database ...
    qasync.run(amain())

`run_tray_app` builds the bridge, tray, dashboard (and the setup wizard on first run), waits for
`shutdown`, then removes its windows and bus subscriptions. It never starts or stops the
services themselves: main.py owns their lifetime. Quit only sets `shutdown`; the app never calls
QApplication.quit() (under qasync that would stop the loop under main's pending coroutine).
"""
from __future__ import annotations

import asyncio
import logging
import sys

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import QApplication, QLabel, QWidget

from gui.actions import AppActions
from gui.bridge import CoreBridge
from gui.dashboard import Dashboard
from gui.icons import app_icon
from gui.outbox import TrayOutbox
from gui.pyside_check import refcount_problem
from gui.services import GuiServices
from gui.status import AppStatus, StatusSnapshot
from gui.tasks import cancel_all
from gui.tray import TrayController
from gui.wizard import SetupWizard

log = logging.getLogger("gui")


translate = QCoreApplication.translate
COMFY_CRASH_STATES = ("restarting", "failed", "waiting")


def create_application(argv: list[str] | None = None) -> QApplication:
    """The QApplication for the tray app (reuses one that exists). Raises RuntimeError on a broken PySide6."""
    app = QApplication.instance() or QApplication(list(argv if argv is not None else sys.argv))
    app.setApplicationName("FuLLetLabs Image Bot")
    app.setOrganizationName("FuLLetLabs")
    app.setWindowIcon(app_icon())
    app.setQuitOnLastWindowClosed(False)       # the tray keeps the app alive; Quit ends it
    problem = refcount_problem()
    if problem:
        raise RuntimeError(problem)
    return app


def needs_setup(services: GuiServices) -> bool:
    """The wizard opens by itself only while nothing is configured (no token anywhere and no server):
    once something was saved, what is missing is said on the dashboard with its fix instead."""
    settings = services.settings
    return not settings.discord_token and not settings.allowed_guild_ids


def initial_status(services: GuiServices) -> StatusSnapshot:
    """Bot, ComfyUI, the queue and pause as the services have them now (the queue's own snapshot)."""
    bot = services.bot
    if not services.settings.discord_token:
        bot_state = "absent"
    elif bot is None:
        bot_state = "stopped"
    else:   # main.py starts a configured bot at once: it is on its way until it says otherwise
        bot_state = "connected" if bot.is_connected() else "connecting"
    queue = services.job_service.snapshot()
    supervisor = services.supervisor
    if supervisor is not None:
        comfy, comfy_message = supervisor.state.value, ""
    else:      # attach mode: each backend's health, from the queue (QueueSnapshot keeps it current)
        down = [f"{b.url}: {b.reason}" for b in queue.backends if not b.healthy]
        comfy, comfy_message = ("waiting", "; ".join(down)) if down else ("up", "")
    return StatusSnapshot(bot=bot_state, comfy=comfy, comfy_message=comfy_message, waiting=queue.queue_length,
                          running=len(queue.running), pending=len(queue.pending), paused=queue.paused,
                          store_ok=queue.store_ok)


class TrayApp:
    """Everything the tray app shows, wired together (tests build it directly)."""

    def __init__(self, services: GuiServices, shutdown: asyncio.Event, *, tick_ms: int = 1000,
                 force_no_tray: bool = False) -> None:
        self.services = services
        self.shutdown = shutdown
        # closing the last window must never stop the loop (qasync): only `shutdown` ends the app
        QApplication.instance().setQuitOnLastWindowClosed(False)
        self.bridge = CoreBridge(services.bus, services.log_ring)
        self.status = AppStatus(initial_status(services), watch_backends=services.supervisor is None)
        self.actions = AppActions(services, self.status, shutdown)
        self.tray = TrayController(self.actions, self.status)
        if force_no_tray:
            self.tray.available = False
        self.dashboard = Dashboard(services, self.bridge, self.actions, self.status, has_tray=self.tray.available,
                                   tick_ms=tick_ms)
        self.actions.may_quit = self.dashboard.may_quit
        self.wizard: SetupWizard | None = None
        self.outbox = TrayOutbox(services.job_service, self.tray.notify)
        self.dashboard.home_tab.result_shown.connect(self.outbox.shown)
        self.dashboard.workflows_tab.result_shown.connect(self.outbox.shown)

        bridge = self.bridge
        bridge.comfy_state.connect(self._on_comfy_state)
        bridge.backend_health.connect(self._on_backend_health)
        bridge.bot_state.connect(self._on_bot_state)
        bridge.queue_paused.connect(self.status.on_paused)
        bridge.host_gpu.connect(self.actions.on_host_gpu_changed)
        bridge.queue_snapshot.connect(self._on_queue_snapshot)
        bridge.store_health.connect(self._on_store_health)
        self.tray.fallback_notice.connect(self.dashboard.show_notice)
        self.actions.open_dashboard_requested.connect(lambda: self.dashboard.open())
        self.actions.open_settings_requested.connect(lambda: self.open_wizard(first_run=False))

    def start(self) -> None:
        self.tray.show()
        self.outbox.deliver_pending()           # test runs that ended while the app was closed
        if not self.tray.available:
            self.dashboard.open()
            self.dashboard.show_notice(
                translate("TrayApp", "No system tray"),
                translate("TrayApp", "this desktop has no system tray, so the app runs in this window. Closing it "
                                     "quits the app."), False)
        if needs_setup(self.services):
            self.open_wizard(first_run=True)

    def open_wizard(self, *, first_run: bool) -> SetupWizard:
        """The wizard in front of every other window; when it closes (Save or Cancel) the dashboard opens,
        so the app never ends up as a tray icon alone (which some desktops hide)."""
        if self.wizard is None or not self.wizard.isVisible():
            self.wizard = SetupWizard(self.services, first_run=first_run)
            self.wizard.finished.connect(self._wizard_closed)
            self.wizard.show()
        self.wizard.raise_()
        self.wizard.activateWindow()
        return self.wizard

    def _wizard_closed(self, _result: int) -> None:
        self.status.on_settings(self.services.settings)
        self.dashboard.home_tab.show_status(self.status.snapshot)
        self.dashboard.open(home=True)

    def _on_comfy_state(self, event) -> None:
        before = self.status.snapshot.comfy
        self.status.on_comfy_state(event)
        self._comfy_changed(before)

    def _on_backend_health(self, event) -> None:
        before = self.status.snapshot.comfy
        self.status.on_backend_health(event)
        self._comfy_changed(before)

    def _on_queue_snapshot(self, snapshot) -> None:
        before = self.status.snapshot.comfy
        self.status.on_queue_snapshot(snapshot)
        self._comfy_changed(before)

    def _on_store_health(self, event) -> None:
        self.status.on_store_health(event)
        if event.ok:
            self.dashboard.notice.clear("store")
        else:
            self.tray.notify(translate("TrayApp", "Database unreachable"),
                             translate("TrayApp", "New requests are refused until it answers again; running jobs "
                                                  "finish. ({details})").format(details=event.reason), True,
                             key="store")

    def _comfy_changed(self, before: str) -> None:
        """One notification when ComfyUI goes down; its banner goes away when ComfyUI is back."""
        snapshot = self.status.snapshot
        state = snapshot.comfy
        if state == before:
            return
        if state in COMFY_CRASH_STATES:
            title = {"restarting": translate("TrayApp", "ComfyUI crashed — restarting"),
                     "failed": translate("TrayApp", "ComfyUI stopped"),
                     "waiting": translate("TrayApp", "ComfyUI is not answering")}[state]
            text = translate("TrayApp", "Jobs wait until it is back. ({details})").format(details=snapshot.comfy_message)
            self.tray.notify(title, text, True, key="comfy")
        elif state == "up":
            self.dashboard.notice.clear("comfy")

    def _on_bot_state(self, event) -> None:
        before = self.status.snapshot.bot
        self.status.on_bot_state(event)
        state = self.status.snapshot.bot
        if state == before:
            return
        if state == "rejected":
            self.tray.notify(translate("TrayApp", "Discord rejected the bot token"),
                             translate("TrayApp", "Copy it again from the Discord developer portal (Bot → Reset Token) "
                                                  "and enter it in Settings."), True, key="bot")
        elif state == "unreachable":
            self.tray.notify(translate("TrayApp", "Discord cannot be reached"),
                             translate("TrayApp", "Check the internet connection; the bot keeps trying by itself."),
                             True, key="bot")
        elif state == "connected":
            self.dashboard.notice.clear("bot")

    async def close(self) -> None:
        self.bridge.close()
        if self.wizard is not None:
            self.wizard.close()
        self.tray.hide()
        self.dashboard.has_tray = True         # closing must not trigger Quit again
        self.dashboard.close()
        await cancel_all()


def starting_window() -> QWidget:
    """"Starting…", shown before anything slow (the keyring, the database); run_tray_app closes it."""
    window = QLabel(QCoreApplication.translate(
        "TrayApp", "FuLLetLabs Image Bot is starting…\nIf your system asks to unlock its keyring, the app keeps "
                   "the bot token there."))
    window.setWindowTitle("FuLLetLabs Image Bot")
    window.setWindowIcon(app_icon())
    window.setMargin(24)
    window.setWindowFlag(Qt.WindowType.WindowStaysOnTopHint, True)
    window.show()
    window.raise_()
    QApplication.processEvents()
    return window


async def run_tray_app(services: GuiServices, shutdown: asyncio.Event, *,
                       ready: asyncio.Event | None = None, on_activate=None, starting: QWidget | None = None) -> None:
    """Show the tray (or the dashboard where there is no tray) and the first-run wizard; return when
    `shutdown` is set. `ready` (optional) is set once the tray icon or the window is shown;
    `on_activate` (optional Qt signal: a second launch of the app) brings the dashboard forward."""
    create_application()
    tray_app = TrayApp(services, shutdown)
    if on_activate is not None:
        on_activate.connect(tray_app.dashboard.open)
    tray_app.start()
    if starting is not None:
        starting.close()
    log.info("Tray app ready: %s", "tray icon shown" if tray_app.tray.available
             else "no system tray, the dashboard window is shown")
    if ready is not None:
        ready.set()
    try:
        await shutdown.wait()
    finally:
        await tray_app.close()
