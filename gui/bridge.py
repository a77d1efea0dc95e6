"""The only way core events reach the GUI: `CoreBridge` subscribes to the core EventBus with sync
handlers (run inline by `publish`, on the loop's thread) and re-emits each event as a Qt signal
carrying the event object itself. Widgets and models connect to these signals; nothing in gui/
subscribes to the bus or polls a service for state changes.
"""
from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from comfy.supervisor import ComfyStateChanged
from core.events import EventBus
from core.gpu_mode import HostGpuChanged
from core.jobs import (BackendHealthChanged, JobCancelled, JobFailed, JobFinished, JobPositionChanged,
                       JobProgress, JobQueued, JobStarted, QueuePausedChanged, QueueSnapshot)
from core.logs import LogLine, LogRing
from core.sessions import SessionChanged
from core.status import BotStateChanged, StoreHealthChanged
from core.workflow_watch import WorkflowsChecked, WorkflowsReloaded

log = logging.getLogger(__name__)

class CoreBridge(QObject):
    job_queued = Signal(object)        # JobQueued
    job_position = Signal(object)      # JobPositionChanged
    job_started = Signal(object)       # JobStarted
    job_progress = Signal(object)      # JobProgress (preview bytes inside)
    job_finished = Signal(object)      # JobFinished
    job_failed = Signal(object)        # JobFailed
    job_cancelled = Signal(object)     # JobCancelled
    queue_paused = Signal(bool)
    queue_snapshot = Signal(object)    # QueueSnapshot (coalesced: waiting order, per backend, paused)
    store_health = Signal(object)      # core.status.StoreHealthChanged
    backend_health = Signal(object)    # BackendHealthChanged
    comfy_state = Signal(object)       # comfy.supervisor.ComfyStateChanged
    bot_state = Signal(object)         # core.status.BotStateChanged
    session_changed = Signal(object)   # core.sessions.SessionChanged
    host_gpu = Signal(object)          # core.gpu_mode.HostGpuChanged
    log_line = Signal(object)          # core.logs.LogLine (emitted from any thread: queued to ours)
    workflows_reloaded = Signal(object)  # core.workflow_watch.WorkflowsReloaded (files changed on disk)
    workflows_checked = Signal(object)   # core.workflow_watch.WorkflowsChecked (validated after ComfyUI came up)

    def __init__(self, bus: EventBus, log_ring: LogRing | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._by_type: dict[type, Signal] = {
            JobQueued: self.job_queued,
            JobPositionChanged: self.job_position,
            JobStarted: self.job_started,
            JobProgress: self.job_progress,
            JobFinished: self.job_finished,
            JobFailed: self.job_failed,
            JobCancelled: self.job_cancelled,
            BackendHealthChanged: self.backend_health,
            QueueSnapshot: self.queue_snapshot,
            StoreHealthChanged: self.store_health,
            ComfyStateChanged: self.comfy_state,
            BotStateChanged: self.bot_state,
            SessionChanged: self.session_changed,
            HostGpuChanged: self.host_gpu,
            WorkflowsReloaded: self.workflows_reloaded,
            WorkflowsChecked: self.workflows_checked,
        }
        self._unsubscribe: list[Callable[[], None]] = [bus.subscribe(object, self._on_event)]
        if log_ring is not None:
            self._unsubscribe.append(log_ring.add_listener(self._on_log_line))

    def _on_event(self, event: object) -> None:
        if isinstance(event, QueuePausedChanged):
            self.queue_paused.emit(event.paused)
            return
        signal = self._by_type.get(type(event))
        if signal is not None:
            signal.emit(event)

    def _on_log_line(self, line: LogLine) -> None:
        self.log_line.emit(line)

    def close(self) -> None:
        """Stop observing (on quit); safe to call twice."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()
