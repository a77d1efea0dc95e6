"""Home: the page the dashboard opens on. The bot (connected as whom, to which server, or why not
and the fix), ComfyUI (address, version, GPU, VRAM from /system_stats, state), the queue (waiting,
running, paused with one-click resume), today's images, and the next steps (invite link, test run).

Everything shown comes from the app's status (gui.status.AppStatus, fed by core events) and from
ComfyUI's own /system_stats, asked when the page is shown or ComfyUI comes back.
"""
from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from datetime import datetime

from PySide6.QtCore import QSize, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import (QFormLayout, QGridLayout, QGroupBox, QHBoxLayout, QLabel, QListView, QPushButton,
                               QScrollArea, QVBoxLayout, QWidget)

from comfy.client import SystemStats
from comfy.errors import ComfyAuthError, ComfyError, NotComfyUIError
from core.jobs import JobRequest
from gui.invite import application_id_from_token, invite_url
from gui.models.history_model import HistoryModel
from gui.status import StatusSnapshot, bot_words, comfy_words
from gui.tasks import error_text, spawn
from gui.theme import Tone, say

THUMB_SIDE = 96
GIB = 1024 ** 3
TEST_PROMPT = "a lighthouse on a cliff at sunset, watercolour"
# url -> ComfyUI's /system_stats there (raises a ComfyError when none answers)
StatsReader = Callable[[str], Awaitable[SystemStats]]


def _label() -> QLabel:
    label = QLabel()
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def _row(button: QPushButton) -> QHBoxLayout:
    """A button at its own width, not stretched across the form."""
    row = QHBoxLayout()
    row.addWidget(button)
    row.addStretch(1)
    return row


def gpu_name(device_name: str) -> str:
    """"cuda:0 NVIDIA GeForce RTX 4090 : cudaMallocAsync" (ComfyUI's words) -> "NVIDIA GeForce RTX 4090"."""
    return re.sub(r"^\w+:\d+\s+", "", device_name.split(" : ")[0])


def is_today(moment: datetime | None) -> bool:
    if moment is None:
        return False
    local = moment.astimezone() if moment.tzinfo else moment
    return local.date() == datetime.now().date()


class HomeTab(QWidget):
    result_shown = Signal(int)         # a test run's result or failure was shown (the outbox: delivered)

    def __init__(self, services, bridge, actions, status, *, stats_reader: StatsReader | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services = services
        self.actions = actions
        self.status = status
        self.stats_reader = stats_reader
        self.stats: dict[str, SystemStats | BaseException] = {}
        self._asking: asyncio.Task | None = None
        self._test_job: int | None = None

        # ---- bot ----
        self.bot_state = _label()
        self.bot_servers = _label()
        self.bot_fix = _label()
        self.bot_button = QPushButton()
        self.bot_button.clicked.connect(self.actions.settings.trigger)
        bot_box = QGroupBox(self.tr("Discord bot"))
        bot_form = QFormLayout(bot_box)
        bot_form.addRow(self.tr("State"), self.bot_state)
        bot_form.addRow(self.tr("Server"), self.bot_servers)
        bot_form.addRow(self.bot_fix)
        bot_form.addRow(_row(self.bot_button))

        # ---- ComfyUI ----
        self.comfy_state = _label()
        self.comfy_details = _label()
        self.comfy_notes = _label()
        self.comfy_check = QPushButton(self.tr("Check again"))
        self.comfy_check.clicked.connect(self.ask_comfy)
        comfy_box = QGroupBox(self.tr("ComfyUI"))
        comfy_form = QFormLayout(comfy_box)
        comfy_form.addRow(self.tr("State"), self.comfy_state)
        comfy_form.addRow(self.comfy_details)
        comfy_form.addRow(self.comfy_notes)
        comfy_form.addRow(_row(self.comfy_check))

        # ---- queue ----
        self.queue_counts = _label()
        self.queue_paused = _label()
        self.resume_button = QPushButton(self.tr("Resume the queue"))
        self.resume_button.clicked.connect(self.actions.pause_queue.trigger)
        queue_box = QGroupBox(self.tr("Queue"))
        queue_form = QFormLayout(queue_box)
        queue_form.addRow(self.tr("Jobs"), self.queue_counts)
        queue_form.addRow(self.queue_paused)
        queue_form.addRow(_row(self.resume_button))

        # ---- next steps ----
        self.invite_link = _label()
        self.copy_invite = QPushButton(self.tr("Copy invite link"))
        self.open_invite = QPushButton(self.tr("Open invite link"))
        self.test_button = QPushButton(self.tr("Send a test image"))
        self.test_status = _label()
        self.copy_invite.clicked.connect(lambda: QGuiApplication.clipboard().setText(self._invite()))
        self.open_invite.clicked.connect(lambda: QDesktopServices.openUrl(QUrl(self._invite())))
        self.test_button.clicked.connect(self.test_run)
        steps_box = QGroupBox(self.tr("Next steps"))
        steps = QVBoxLayout(steps_box)
        steps.addWidget(QLabel(self.tr("1. Invite the bot to your server, with exactly the permissions it needs:")))
        invite_row = QHBoxLayout()
        invite_row.addWidget(self.copy_invite)
        invite_row.addWidget(self.open_invite)
        invite_row.addStretch(1)
        steps.addLayout(invite_row)
        steps.addWidget(self.invite_link)
        steps.addWidget(QLabel(self.tr("2. Make a test image through the queue (no Discord needed):")))
        test_row = QHBoxLayout()
        test_row.addWidget(self.test_button)
        test_row.addStretch(1)
        steps.addLayout(test_row)
        steps.addWidget(self.test_status)
        steps.addWidget(QLabel(self.tr("3. In Discord, type /imagine in your server.")))
        steps.addStretch(1)

        # ---- today's images ----
        self.images = HistoryModel(self, capacity=48)
        self.images_view = QListView()
        self.images_view.setViewMode(QListView.ViewMode.IconMode)
        self.images_view.setResizeMode(QListView.ResizeMode.Adjust)
        self.images_view.setMovement(QListView.Movement.Static)
        self.images_view.setIconSize(QSize(THUMB_SIDE, THUMB_SIDE))
        self.images_view.setGridSize(QSize(THUMB_SIDE + 16, THUMB_SIDE + 16))
        self.images_view.setModel(self.images)
        self.images_view.setMinimumHeight(THUMB_SIDE + 24)
        self.images_empty = _label()
        images_box = QGroupBox(self.tr("Today's images"))
        images_layout = QVBoxLayout(images_box)
        images_layout.addWidget(self.images_empty)
        images_layout.addWidget(self.images_view, 1)

        grid = QGridLayout()
        grid.addWidget(bot_box, 0, 0)
        grid.addWidget(comfy_box, 0, 1)
        grid.addWidget(queue_box, 1, 0)
        grid.addWidget(steps_box, 1, 1)
        grid.addWidget(images_box, 2, 0, 1, 2)
        grid.setColumnStretch(0, 1)
        grid.setColumnStretch(1, 1)
        grid.setRowStretch(2, 1)
        inner = QWidget()
        inner.setLayout(grid)
        scroll = QScrollArea()              # fits any screen and scale: scrolls instead of growing
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(inner)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)

        status.changed.connect(self.show_status)
        bridge.job_finished.connect(self._on_job_finished)
        bridge.job_failed.connect(self._on_test_failed)
        bridge.job_cancelled.connect(self._on_test_cancelled)
        self.show_status(status.snapshot)
        self._show_images_hint()
        self.load_images()

    # ---- status ----
    def show_status(self, snapshot: StatusSnapshot) -> None:
        settings = self.services.settings
        self._show_bot(snapshot, settings)
        comfy_before = getattr(self, "_comfy_seen", None)
        self._comfy_seen = snapshot.comfy
        self._show_comfy(snapshot)
        if snapshot.comfy == "up" and comfy_before not in (None, "up"):
            self.ask_comfy()               # it came back: what runs there now
        self._show_queue(snapshot)
        self._show_steps()

    def _show_bot(self, snapshot: StatusSnapshot, settings) -> None:
        state = snapshot.bot
        name = re.sub(r"^Connected to Discord as ", "", snapshot.bot_message) if state == "connected" else ""
        if state == "connected":
            say(self.bot_state, self.tr("Connected as {name}").format(name=name or "?"), Tone.OK)
        elif state in ("rejected", "unreachable", "absent"):
            say(self.bot_state, bot_words(state), Tone.PROBLEM)
        else:
            say(self.bot_state, bot_words(state))
        servers = ", ".join(str(g) for g in settings.allowed_guild_ids)
        self.bot_servers.setText(servers or self.tr("none set"))
        fixes = {
            "absent": (self.tr("The bot has no token yet: set it up with the token from the Discord developer "
                               "portal and your server ID."), self.tr("Set up the bot…")),
            "rejected": (self.tr("Discord rejected the token (it was reset or mistyped). Copy it again from the "
                                 "developer portal (Bot → Reset Token)."), self.tr("Enter a new token…")),
            "unreachable": (self.tr("Discord cannot be reached from this computer: check the internet connection. "
                                    "The bot keeps trying by itself."), ""),
        }
        fix, button = fixes.get(state, ("", ""))
        if not fix and not settings.allowed_guild_ids:
            fix, button = self.tr("No server is allowed yet: enter your server ID."), self.tr("Open Settings…")
        self.bot_fix.setText(fix)
        self.bot_fix.setVisible(bool(fix))
        self.bot_button.setText(button)
        self.bot_button.setVisible(bool(button))

    def _show_comfy(self, snapshot: StatusSnapshot) -> None:
        words = comfy_words(snapshot.comfy)
        if snapshot.comfy == "up":
            say(self.comfy_state, words, Tone.OK)
        elif snapshot.comfy_down:
            say(self.comfy_state, f"{words}: {snapshot.comfy_message}" if snapshot.comfy_message else words,
                Tone.PROBLEM)
        else:
            say(self.comfy_state, words)
        lines = []
        for url in self.services.settings.comfy_urls:
            answer = self.stats.get(url)
            if answer is None:
                lines.append(f"{url}")
            elif isinstance(answer, BaseException):
                lines.append(f"{url} — {self._comfy_problem(url, answer)}")
            else:
                lines.append(f"{url} — {self._describe(answer, url)}")
        self.comfy_details.setText("\n".join(lines))
        notes = list(self.services.settings.notes)
        self.comfy_notes.setText("\n".join(notes))
        self.comfy_notes.setVisible(bool(notes))

    def _describe(self, stats: SystemStats, url: str) -> str:
        parts = [self.tr("ComfyUI {version}").format(version=stats.comfyui_version or "?")]
        for device in stats.devices:
            if device.vram_total:
                parts.append(self.tr("{gpu}, VRAM {free:.1f} of {total:.1f} GB free").format(
                    gpu=gpu_name(device.name), free=device.vram_free / GIB, total=device.vram_total / GIB))
            else:
                parts.append(gpu_name(device.name))
        return " · ".join(parts)

    def _comfy_problem(self, url: str, exc: BaseException) -> str:
        if isinstance(exc, NotComfyUIError):
            return self.tr("this port answers, but it is not ComfyUI: check the address (ComfyUI Desktop uses "
                           "port 8000, the portable ComfyUI 8188).")
        if isinstance(exc, ComfyAuthError):
            return self.tr("a proxy in front of ComfyUI refused the API key: check it in Settings.")
        if isinstance(exc, ComfyError):
            return self.tr("not answering: start ComfyUI, or check the address in Settings.")
        return error_text(exc)

    def _show_queue(self, snapshot: StatusSnapshot) -> None:
        self.queue_counts.setText(snapshot.queue_text())
        if snapshot.paused:
            say(self.queue_paused, self.tr("The queue is paused: jobs wait and nothing is sent to ComfyUI."),
                Tone.PROBLEM)
        else:
            self.queue_paused.clear()
        self.queue_paused.setVisible(snapshot.paused)
        self.resume_button.setVisible(snapshot.paused)

    def _invite(self) -> str:
        app_id = application_id_from_token(self.services.settings.discord_token or "")
        if app_id is None:
            return ""
        guilds = self.services.settings.allowed_guild_ids
        return invite_url(app_id, guilds[0] if len(guilds) == 1 else None)

    def _show_steps(self) -> None:
        link = self._invite()
        self.copy_invite.setEnabled(bool(link))
        self.open_invite.setEnabled(bool(link))
        self.invite_link.setText("" if link else self.tr("The invite link needs the bot token (Settings)."))
        self.invite_link.setVisible(not link)

    # ---- ComfyUI ----
    def ask_comfy(self) -> asyncio.Task | None:
        """Ask every ComfyUI for its /system_stats (version, GPU, VRAM) and show the answers."""
        if self.stats_reader is None or (self._asking is not None and not self._asking.done()):
            return None
        urls = self.services.settings.comfy_urls
        reader = self.stats_reader

        async def ask() -> dict:
            answers = await asyncio.gather(*(reader(url) for url in urls), return_exceptions=True)
            return dict(zip(urls, answers))

        self._asking = spawn(ask(), on_done=self._answered, name="ask comfy")
        return self._asking

    def _answered(self, answers: dict) -> None:
        self.stats = answers
        self._show_comfy(self.status.snapshot)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.ask_comfy()

    # ---- images ----
    def load_images(self) -> None:
        spawn(self.services.job_service.recent(48), on_done=self._got_images, name="today's images")

    def _got_images(self, jobs) -> None:
        self.images.set_jobs([job for job in jobs if job.outputs and is_today(job.finished_at)])
        self._show_images_hint()

    def _show_images_hint(self) -> None:
        empty = self.images.rowCount() == 0
        self.images_empty.setText(self.tr("No images yet today.") if empty else "")
        self.images_empty.setVisible(empty)

    def _on_job_finished(self, event) -> None:
        if event.images or event.job.outputs:
            self.images.on_job_finished(event)
            self._show_images_hint()
        if event.job_id == self._test_job:
            say(self.test_status, self.tr("Test image #{id} is ready: it is the first of today's images.")
                .format(id=event.job_id), Tone.OK)
            self._test_job = None
            self.result_shown.emit(event.job_id)
            if self.stats_reader is not None:
                self.ask_comfy()           # VRAM after a job

    def _on_test_failed(self, event) -> None:
        if event.job_id == self._test_job:
            say(self.test_status, self.tr("The test image failed: {reason}").format(reason=event.text), Tone.PROBLEM)
            self._test_job = None
            self.result_shown.emit(event.job_id)

    def _on_test_cancelled(self, event) -> None:
        if event.job_id == self._test_job:
            say(self.test_status, self.tr("The test job was cancelled."), Tone.PROBLEM)
            self._test_job = None
            self.result_shown.emit(event.job_id)

    # ---- test run ----
    def test_run(self) -> asyncio.Task | None:
        """A text-to-image job through the queue: the first enabled imagine workflow (an edit workflow
        would need an image)."""
        service = self.services.job_service
        workflow = next((w for w in service.workflows() if w.kind == "imagine"), None)
        if workflow is None:
            say(self.test_status, self.tr("No text-to-image workflow is enabled: enable one in Workflows."),
                Tone.PROBLEM)
            return None
        request = JobRequest(user_id=0, user_name=self.tr("test from the app"), workflow=workflow.name,
                             prompt=TEST_PROMPT, source="tray", is_admin=True)
        say(self.test_status, self.tr("Sending a test job…"))
        return spawn(service.submit(request), on_done=self._test_queued,
                     on_error=lambda exc: say(self.test_status, self.tr("The test job was refused: {reason}")
                                              .format(reason=error_text(exc)), Tone.PROBLEM), name="test run")

    def _test_queued(self, accepted) -> None:
        self._test_job = accepted.job.id
        text = self.tr("Test job #{id} ({workflow}) is in the queue at position {position}.").format(
            id=accepted.job.id, workflow=accepted.job.request.workflow, position=accepted.position)
        if accepted.paused:
            text += " " + self.tr("The queue is paused: resume it to run the job.")
        say(self.test_status, text)
