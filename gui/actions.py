"""The app-wide commands (tray menu, dashboard menu): pause/resume the queue, start/stop the bot and
ComfyUI, settings, quit. Each calls a core service on the loop; a failure becomes a notice (tray
balloon or dashboard banner) and the app keeps running."""
from __future__ import annotations

import asyncio
import sys

from PySide6.QtCore import QObject, QSignalBlocker, Signal
from PySide6.QtGui import QAction

from core.errors import CoreError
from core.gpu_mode import HostGpuChanged
from gui.services import GuiServices
from gui.status import COMFY_RUNNING, AppStatus
from gui.tasks import error_text, spawn

class AppActions(QObject):
    notice = Signal(str, str, bool)          # title, text, is_error
    open_dashboard_requested = Signal()
    open_settings_requested = Signal()

    def __init__(self, services: GuiServices, status: AppStatus, shutdown: asyncio.Event,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.services = services
        self.status = status
        self.shutdown = shutdown
        self.open_dashboard = QAction(self.tr("Open dashboard"), self)
        self.pause_queue = QAction(self.tr("Pause queue"), self)
        self.host_gpu = QAction(self.tr("I need my GPU"), self)
        self.toggle_bot = QAction(self.tr("Start bot"), self)
        self.toggle_comfy = QAction(self.tr("Start ComfyUI"), self)
        self.settings = QAction(self.tr("Settings…"), self)
        self.start_at_login = QAction(self.tr("Start with Windows") if sys.platform == "win32" else self.tr("Start at login"),
                                      self)
        self.quit = QAction(self.tr("Quit"), self)
        self.open_dashboard.triggered.connect(self.open_dashboard_requested)
        self.settings.triggered.connect(self.open_settings_requested)
        self.pause_queue.triggered.connect(self.on_pause_toggled)
        self.host_gpu.triggered.connect(self.on_host_gpu_toggled)
        self.host_gpu.setToolTip(self.tr("The running job finishes, the others wait, ComfyUI frees the GPU memory, "
                                         "and waiting users are told you are using the GPU"))
        self.toggle_bot.triggered.connect(self.on_bot_toggled)
        self.toggle_comfy.triggered.connect(self.on_comfy_toggled)
        self.may_quit = lambda: True        # the app asks its windows (unsaved edits) before quitting
        self.quit.triggered.connect(self.on_quit)
        self.toggle_comfy.setEnabled(services.supervisor is not None)
        autostart = services.autostart
        self.start_at_login.setCheckable(True)
        self.start_at_login.setVisible(autostart is not None and autostart.supported)
        self.start_at_login.setChecked(bool(autostart and autostart.supported and autostart.enabled))
        self.start_at_login.toggled.connect(self.on_start_at_login_toggled)
        status.changed.connect(self.refresh)
        self.refresh(status.snapshot)

    def on_quit(self) -> None:
        if self.may_quit():
            self.shutdown.set()             # never app.quit() under qasync

    def all(self) -> list[QAction | None]:
        """Menu order; None is a separator."""
        host_gpu = [self.host_gpu] if self.services.host_gpu is not None else []
        return [self.open_dashboard, None, self.pause_queue, *host_gpu, self.toggle_bot, self.toggle_comfy, None,
                self.settings, self.start_at_login, None, self.quit]

    def refresh(self, snapshot) -> None:
        self.settings.setText(self.tr("Set up the bot…") if snapshot.bot == "absent" else self.tr("Settings…"))
        self.pause_queue.setText(self.tr("Resume queue") if snapshot.paused else self.tr("Pause queue"))
        self.toggle_bot.setEnabled(self.services.bot is not None and snapshot.bot != "absent")
        bot_running = snapshot.bot in ("connected", "connecting", "disconnected")
        self.toggle_bot.setText(self.tr("Stop bot") if bot_running else self.tr("Start bot"))
        comfy_running = self.services.supervisor is not None and snapshot.comfy in COMFY_RUNNING
        self.toggle_comfy.setText(self.tr("Stop ComfyUI") if comfy_running else self.tr("Start ComfyUI"))

    # ---- handlers ----
    def _fail(self, title: str):
        return lambda exc: self.notice.emit(title, error_text(exc), True)

    def on_start_at_login_toggled(self, wanted: bool) -> None:
        """The OS's own login entry is the setting (core.autostart); on failure the tick goes back."""
        autostart = self.services.autostart
        if autostart is None:
            return
        try:
            autostart.set(wanted)
        except CoreError as exc:
            self.notice.emit(self.tr("Could not change starting at login"), str(exc), True)
        with QSignalBlocker(self.start_at_login):
            self.start_at_login.setChecked(autostart.enabled)

    def on_pause_toggled(self) -> None:
        service = self.services.job_service
        if self.status.snapshot.paused:
            spawn(service.resume(), on_error=self._fail(self.tr("Could not resume the queue")), name="resume queue")
        else:
            spawn(service.pause(), on_error=self._fail(self.tr("Could not pause the queue")), name="pause queue")

    def on_host_gpu_toggled(self) -> None:
        host_gpu = self.services.host_gpu
        if host_gpu is None:
            return
        if host_gpu.in_use:
            spawn(host_gpu.give_back(), on_error=self._fail(self.tr("Could not share the GPU again")), name="share GPU")
        else:
            spawn(host_gpu.take(), on_error=self._fail(self.tr("Could not take the GPU")), name="take GPU")

    def on_host_gpu_changed(self, event: HostGpuChanged) -> None:
        """HostGpuChanged (through the bridge): the action's text, and a notice when memory stayed in use."""
        self.host_gpu.setText(self.tr("Share my GPU again") if event.in_use else self.tr("I need my GPU"))
        self.pause_queue.setEnabled(not event.in_use)   # while the host holds the GPU, "Share my GPU again" resumes
        if event.in_use and event.freed is False:
            self.notice.emit(self.tr("The GPU memory was not freed"),
                             self.tr("The queue holds, but ComfyUI at {addresses} kept its memory (the Logs tab "
                                     "says why). Close ComfyUI to free it.").format(
                                 addresses=", ".join(event.not_freed)), True)

    def on_bot_toggled(self) -> None:
        bot = self.services.bot
        if bot is None:
            return
        if self.status.snapshot.bot in ("connected", "connecting", "disconnected"):
            spawn(self._stop_bot(), on_error=self._fail(self.tr("Could not stop the bot")), name="stop bot")
        else:
            spawn(self._start_bot(), name="start bot")

    async def _start_bot(self) -> None:
        bot = self.services.bot
        self.status.update(bot="connecting")
        try:
            await bot.start()
        except Exception as exc:  # the bot says why; the tray shows it and keeps running
            if self.status.snapshot.bot != "rejected":  # a rejected token is announced by its BotStateChanged
                self.status.update(bot="disconnected")
                self.notice.emit(self.tr("The bot could not connect"), error_text(exc), True)
            return
        self.status.update(bot="connected" if bot.is_connected() else "connecting")

    async def _stop_bot(self) -> None:
        await self.services.bot.stop()
        self.status.update(bot="stopped")

    def on_comfy_toggled(self) -> None:
        supervisor = self.services.supervisor
        if supervisor is None:
            return
        if self.status.snapshot.comfy in COMFY_RUNNING:
            spawn(supervisor.stop(), on_error=self._fail(self.tr("Could not stop ComfyUI")), name="stop comfy")
        else:
            self.status.update(comfy="starting")
            spawn(supervisor.start(), on_error=self._comfy_failed, name="start comfy")

    def _comfy_failed(self, exc: BaseException) -> None:
        self.status.update(comfy="failed", comfy_message=error_text(exc))
        self.notice.emit(self.tr("ComfyUI could not start"), error_text(exc), True)
