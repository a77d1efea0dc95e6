"""The tray's side of the outbox (docs/CONTRACTS.md): a tray job (a test run) counts as delivered
once the app has shown its result. The tabs that run tests say so through their `result_shown`
signal; test runs that ended while the app was closed (or unwatched) are told once at start, in one
notification that points to History, and then count as delivered too.
"""
from __future__ import annotations

import asyncio
from collections.abc import Callable

from PySide6.QtCore import QObject

from core.jobs import Job, JobState
from gui.tasks import spawn

TRAY = "tray"
LISTED = 3          # test runs named one by one in the start notification; the rest are counted


class TrayOutbox(QObject):
    def __init__(self, job_service, notify: Callable[[str, str, bool], None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.job_service = job_service
        self.notify = notify
        self._delivered: set[int] = set()       # marked in this run (a tab and the start pass may meet)
        self.delivering: asyncio.Task | None = None   # the start pass

    def shown(self, job_id: int) -> None:
        """A tab showed this tray job's result or failure: it reached its user."""
        if job_id not in self._delivered:
            self._delivered.add(job_id)
            spawn(self.job_service.mark_delivered(job_id), name=f"marking test run #{job_id} delivered")

    def deliver_pending(self) -> asyncio.Task:
        """At start: the tray jobs that ended without being shown, told once, then marked delivered."""
        self.delivering = spawn(self._deliver_pending(), name="test runs to tell")
        return self.delivering

    async def _deliver_pending(self) -> None:
        jobs = [job for job in await self.job_service.undelivered(TRAY) if job.id not in self._delivered]
        if not jobs:
            return
        lines = [self._line(job) for job in jobs[:LISTED]]
        if len(jobs) > LISTED:
            lines.append(self.tr("and {count} more").format(count=len(jobs) - LISTED))
        title = (self.tr("A test run ended while the app was closed") if len(jobs) == 1
                 else self.tr("{count} test runs ended while the app was closed").format(count=len(jobs)))
        self.notify(title, "; ".join(lines) + ". " + self.tr("See them in History."),
                    any(job.state is not JobState.DONE for job in jobs))
        for job in jobs:
            self._delivered.add(job.id)
            await self.job_service.mark_delivered(job.id)

    def _line(self, job: Job) -> str:
        if job.state is JobState.DONE:
            return self.tr("#{id} {workflow}: done").format(id=job.id, workflow=job.request.workflow)
        if job.state is JobState.CANCELLED:
            return self.tr("#{id} {workflow}: cancelled").format(id=job.id, workflow=job.request.workflow)
        return self.tr("#{id} {workflow}: failed ({reason})").format(
            id=job.id, workflow=job.request.workflow, reason=job.error_text or job.error_code or "?")
